package approvals

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Event is one audited transition, as appended to the audit stream by the
// same script that made the transition.
type Event struct {
	// ID is the Redis stream entry id.
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	RequestID string    `json:"request_id"`
	// Target carries the label and Slack user, never the email.
	Target   Target `json:"target"`
	From     State  `json:"from"`
	To       State  `json:"to"`
	PlanHash string `json:"plan_hash"`
	// Details is a JSON object (deny reason, approvals count, per-token
	// results, takeover owner...) or null.
	Details  json.RawMessage `json:"details"`
	PrevHash string          `json:"prev_hash"`
	// Hash is the hex sha1 of PrevHash followed by the event's stored JSON.
	Hash string `json:"hash"`
}

// EventQuery selects events. Zero fields select everything.
type EventQuery struct {
	Since, Until time.Time
	// Target matches the target label (case-insensitive) or Slack user.
	Target string
	// Limit caps the number of events returned, oldest first.
	Limit int
}

const auditPage = 1000

// Events returns the audit events that match q, oldest first.
//
// TODO: it reads the whole stream and filters in the process; an index by
// time and target would be needed beyond a few hundred thousand events.
func (s *Store) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	var out []Event
	err := s.walk(ctx, func(e Event, _ string) bool {
		if q.matches(e) {
			out = append(out, e)
		}
		return q.Limit <= 0 || len(out) < q.Limit
	})
	if err != nil {
		return nil, fmt.Errorf("read audit events: %w", err)
	}
	return out, nil
}

func (q EventQuery) matches(e Event) bool {
	if !q.Since.IsZero() && e.Time.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !e.Time.Before(q.Until) {
		return false
	}
	if q.Target == "" {
		return true
	}
	return strings.EqualFold(e.Target.Label, q.Target) || e.Target.SlackUser == q.Target
}

// walk calls fn with each event and its stored JSON, oldest first, until fn
// returns false.
func (s *Store) walk(ctx context.Context, fn func(e Event, raw string) bool) error {
	start := "-"
	for {
		msgs, err := s.rdb.XRangeN(ctx, s.key("audit"), start, "+", auditPage).Result()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			e, raw := decodeEvent(m)
			if !fn(e, raw) {
				return nil
			}
		}
		if len(msgs) < auditPage {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// decodeEvent decodes a stream entry. An undecodable entry yields an Event
// with only ID and Hash, which Verify reports as broken.
func decodeEvent(m redis.XMessage) (Event, string) {
	raw, _ := m.Values["event"].(string)
	var e Event
	_ = json.Unmarshal([]byte(raw), &e)
	e.ID = m.ID
	e.Hash, _ = m.Values["hash"].(string)
	return e, raw
}

// WriteJSONLines writes events to w as JSON Lines, one event a line.
func WriteJSONLines(w io.Writer, events []Event) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("write event %s: %w", e.ID, err)
		}
	}
	return nil
}

// VerifyResult is the outcome of Verify. BrokenAt is empty when the chain is
// intact; otherwise it names the first stream entry that does not fit (or
// "head") and Reason says why.
type VerifyResult struct {
	Checked  int
	BrokenAt string
	Reason   string
}

// TODO: the audit stream is never trimmed; trimming needs Verify to start
// from a recorded anchor hash instead of "".

// Verify walks the audit chain from its first event and reports the first
// break: an edited event no longer matches its hash, a deleted or reordered
// one breaks the next event's PrevHash, and a deleted last event no longer
// matches the stored chain head. A break is a result, not an error; the
// error is for Redis failures. Someone able to rewrite every later event and
// the head too can forge a chain; export events elsewhere to guard that.
func (s *Store) Verify(ctx context.Context) (VerifyResult, error) {
	head, err := s.rdb.Get(ctx, s.key("audit", "head")).Result()
	if err != nil && err != redis.Nil {
		return VerifyResult{}, fmt.Errorf("verify audit chain: %w", err)
	}
	var res VerifyResult
	prev, sawHead := "", head == ""
	err = s.walk(ctx, func(e Event, raw string) bool {
		if reason := checkLink(e, raw, prev); reason != "" {
			res.BrokenAt, res.Reason = e.ID, reason
			return false
		}
		res.Checked++
		prev = e.Hash
		sawHead = sawHead || e.Hash == head
		return true
	})
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify audit chain: %w", err)
	}
	if res.BrokenAt == "" && !sawHead {
		res.BrokenAt, res.Reason = "head", "chain head matches no event: events deleted at the end"
	}
	return res, nil
}

func checkLink(e Event, raw, prev string) string {
	if raw == "" || e.RequestID == "" {
		return "event unreadable"
	}
	if e.PrevHash != prev {
		return "previous hash does not match the event before: an event was deleted or moved"
	}
	sum := sha1.Sum([]byte(prev + raw))
	if hex.EncodeToString(sum[:]) != e.Hash {
		return "hash does not match the event: the event was edited"
	}
	return ""
}
