package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// snapshot is a listing exactly as it was shown in Slack. Revoke buttons
// refer to it, so that an approval request covers the tokens people saw and
// nothing else, however many tokens that is.
type snapshot struct {
	ID          string               `json:"id"`
	Target      string               `json:"target"`
	TargetSlack string               `json:"target_slack,omitempty"`
	TargetEmail string               `json:"target_email,omitempty"`
	Requester   string               `json:"requester"`
	Channel     string               `json:"channel"`
	ThreadTS    string               `json:"thread_ts,omitempty"`
	Messages    []string             `json:"messages,omitempty"`
	Created     time.Time            `json:"created"`
	Controllers []controllerSnapshot `json:"controllers"`
	// Results are the verified outcomes of executed requests, by
	// resultKey, so that every page of the listing shows them.
	Results map[string]jenkins.TokenResult `json:"results,omitempty"`
	// guessed names the controllers whose Jenkins id was guessed, while
	// the listing is being built.
	guessed map[string]bool
}

// controllerSnapshot is one controller's part of a listing.
type controllerSnapshot struct {
	Controller      string          `json:"controller"`
	JenkinsUser     string          `json:"jenkins_user,omitempty"`
	Tokens          []jenkins.Token `json:"tokens,omitempty"`
	HasLegacySecret bool            `json:"has_legacy_secret,omitempty"`
	StatsEnabled    bool            `json:"stats_enabled,omitempty"`
	// Problem says in words why this controller has no listing.
	Problem string `json:"problem,omitempty"`
	// Guessed marks a Jenkins id taken from the email's local part
	// (JenkinsIDFromEmail) because no Jenkins user had the email.
	Guessed bool `json:"guessed,omitempty"`
}

// tokenCount is the number of tokens shown across all controllers.
func (s *snapshot) tokenCount() int {
	n := 0
	for _, c := range s.Controllers {
		n += len(c.Tokens)
	}
	return n
}

// token finds a shown token by controller index and uuid.
func (s *snapshot) token(ci int, uuid string) (jenkins.Token, bool) {
	if ci < 0 || ci >= len(s.Controllers) {
		return jenkins.Token{}, false
	}
	for _, t := range s.Controllers[ci].Tokens {
		if t.UUID == uuid {
			return t, true
		}
	}
	return jenkins.Token{}, false
}

// errSnapshotGone means a listing is older than the snapshot retention, or
// its id was never issued.
var errSnapshotGone = errors.New("listing not found")

// snapshots keeps listings in Redis for as long as their buttons may be used.
type snapshots struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

func (s *snapshots) key(id string) string { return s.prefix + "listing:" + id }

func (s *snapshots) save(ctx context.Context, snap *snapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("encode listing %s: %w", snap.ID, err)
	}
	if err := s.rdb.Set(ctx, s.key(snap.ID), b, s.ttl).Err(); err != nil {
		return fmt.Errorf("save listing %s: %w", snap.ID, err)
	}
	return nil
}

// load returns errSnapshotGone for an unknown or expired listing.
func (s *snapshots) load(ctx context.Context, id string) (*snapshot, error) {
	b, err := s.rdb.Get(ctx, s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errSnapshotGone
	}
	if err != nil {
		return nil, fmt.Errorf("load listing %s: %w", id, err)
	}
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("decode listing %s: %w", id, err)
	}
	return &snap, nil
}
