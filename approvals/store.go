package approvals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Defaults for the zero values of Options.
const (
	DefaultPrefix     = "jt"
	DefaultTTL        = 24 * time.Hour
	DefaultRetention  = 90 * 24 * time.Hour
	DefaultSweepLease = 30 * time.Second
	sweepBatch        = 100
)

// Options tunes a Store. Zero values take the defaults above.
type Options struct {
	// Prefix names the key space. Every key is "{Prefix}:...", one hash tag,
	// so all keys live in one Redis Cluster slot.
	Prefix string
	// Now is the clock that decides expiry, leases and retention.
	Now func() time.Time
	// DefaultTTL is how long a request stays pending when Create gets none.
	DefaultTTL time.Duration
	// Retention is how long decided requests are kept before SweepExpired
	// drops them.
	Retention time.Duration
	// SweepLease is how long one replica holds the right to sweep.
	SweepLease time.Duration
	// Required is the number of distinct approvers a request needs when
	// Create gets none; default 1.
	Required int
}

func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DefaultTTL <= 0 {
		o.DefaultTTL = DefaultTTL
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.SweepLease <= 0 {
		o.SweepLease = DefaultSweepLease
	}
	if o.Required <= 0 {
		o.Required = 1
	}
	return o
}

// Store keeps requests and their audit trail in Redis. It holds no request
// state in the process; it is safe for concurrent use, and any number of
// Stores, in any number of processes, may share one Redis and Prefix.
type Store struct {
	rdb      redis.UniversalClient
	opts     Options
	tag      string // "{prefix}:"
	embedded *miniredis.Miniredis
	opened   bool // Open made the client, so Close closes it
}

// New returns a Store on a client the caller owns; Close does not close it.
func New(rdb redis.UniversalClient, opts Options) *Store {
	opts = opts.withDefaults()
	return &Store{rdb: rdb, opts: opts, tag: "{" + opts.Prefix + "}:"}
}

// Open connects to the Redis at url (redis:// or rediss://), checks that it
// answers and loads the scripts. An empty url starts an embedded in-process
// Redis instead: its state is lost when the process ends and no other
// replica can share it (see Embedded). Close releases what Open made.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	var mr *miniredis.Miniredis
	if url == "" {
		var err error
		if mr, err = miniredis.Run(); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		url = "redis://" + mr.Addr()
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		closeEmbedded(mr)
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	s := New(redis.NewClient(o), opts)
	s.embedded, s.opened = mr, true
	if err := s.LoadScripts(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func closeEmbedded(mr *miniredis.Miniredis) {
	if mr != nil {
		mr.Close()
	}
}

// Embedded reports whether the Store runs on an in-process Redis started by
// Open(""), whose state is lost on restart and cannot be shared by replicas.
// Its key TTLs do not run down, so the sweep lease stays with the first
// owner that took it: use one stable owner per process.
func (s *Store) Embedded() bool { return s.embedded != nil }

// Close closes the client and embedded Redis that Open made. It does nothing
// for a Store from New.
func (s *Store) Close() error {
	if !s.opened {
		return nil
	}
	err := s.rdb.Close()
	closeEmbedded(s.embedded)
	return err
}

// LoadScripts loads every script into Redis in one pipeline, so that each
// later transition is a single EVALSHA round trip. Transitions work without
// it, at the cost of one extra round trip the first time a script runs.
func (s *Store) LoadScripts(ctx context.Context) error {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(allScripts))
	for i, sc := range allScripts {
		cmds[i] = pipe.ScriptLoad(ctx, sc.src)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("load scripts: %w", err)
	}
	for i, sc := range allScripts {
		if cmds[i].Val() != sc.Hash() {
			return fmt.Errorf("load scripts: redis sha %s, want %s", cmds[i].Val(), sc.Hash())
		}
	}
	return nil
}

// Redis returns the client the Store uses, for callers that keep their own
// keys next to the store's (use a different prefix).
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

func (s *Store) key(parts ...string) string {
	return s.tag + strings.Join(parts, ":")
}

func (s *Store) reqKey(id string) string { return s.key("req", id) }

func (s *Store) indexKey(who string) string {
	return s.key("target", indexName(who))
}

func indexName(who string) string { return strings.ToLower(strings.TrimSpace(who)) }

// baseKeys are KEYS[1..6] of every transition script.
func (s *Store) baseKeys(first string) []string {
	return []string{first, s.key("pending"), s.key("retain"), s.key("audit"),
		s.key("audit", "head"), s.key("active")}
}

// baseArgs are ARGV[1..4] of every transition script.
func (s *Store) baseArgs(actor string) []any {
	now := s.opts.Now()
	return []any{now.UnixMilli(), now.UTC().Format(time.RFC3339Nano), actor,
		s.opts.Retention.Milliseconds()}
}

// transition runs one transition script for request id and decodes its
// reply: a refusal becomes its sentinel, a Redis failure stays wrapped.
func (s *Store) transition(ctx context.Context, sc script, id, actor string,
	keys []string, args ...any) (*Request, error) {
	if keys == nil {
		keys = s.baseKeys(s.reqKey(id))
	}
	res, err := sc.Run(ctx, s.rdb, keys, append(s.baseArgs(actor), args...)...).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("unexpected script reply of %d elements", len(res))
	}
	code, _ := res[0].(string)
	if code != "OK" {
		if e, ok := codeErrors[code]; ok {
			return nil, e
		}
		return nil, fmt.Errorf("unexpected script reply %q", code)
	}
	return decodeRequest(res[1])
}

var errBadReply = errors.New("malformed request in redis reply")
