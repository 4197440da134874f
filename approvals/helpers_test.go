package approvals

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals/approvalstest"
)

// fakeClock is the injected Now of a test store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is one test's store on its own key prefix.
type fixture struct {
	s     *Store
	rdb   redis.UniversalClient
	clock *fakeClock
}

// backend returns a client for one test: the Redis at REDIS_URL, failing the
// test when it cannot be reached, or a fresh miniredis.
type backend func(t testing.TB) redis.UniversalClient

func redisBackend(url string) backend {
	return func(t testing.TB) redis.UniversalClient {
		return approvalstest.Client(t, url)
	}
}

func miniBackend(t testing.TB) redis.UniversalClient {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// backends lists miniredis always and real Redis when REDIS_URL is set.
func backends() map[string]backend {
	b := map[string]backend{"miniredis": miniBackend}
	if url := os.Getenv("REDIS_URL"); url != "" {
		b["redis"] = redisBackend(url)
	}
	return b
}

var epoch = time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)

// newFixture opens a store with a random prefix and a fake clock, and
// deletes every key of that prefix when the test ends.
func newFixture(t testing.TB, be backend, o Options) *fixture {
	t.Helper()
	rdb := be(t)
	clock := &fakeClock{t: epoch}
	o.Prefix = "test-" + uuid.NewString()
	o.Now = clock.Now
	s := New(rdb, o)
	t.Cleanup(func() { deletePrefix(t, rdb, o.Prefix) })
	return &fixture{s: s, rdb: rdb, clock: clock}
}

func deletePrefix(t testing.TB, rdb redis.UniversalClient, prefix string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	iter := rdb.Scan(ctx, 0, "{"+prefix+"}:*", 500).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("clean up key %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("clean up prefix %s: %v", prefix, err)
	}
}

func samplePlan() Plan {
	return Plan{Controllers: []ControllerPlan{{
		Controller: "ci", JenkinsUser: "alice",
		Tokens: []PlannedToken{{UUID: "u1", Name: "laptop"}, {UUID: "u2", Name: "ci"}},
	}}, EndSessions: true}
}

func sampleNew() NewRequest {
	return NewRequest{
		Requester: "UREQ",
		Target:    Target{Label: "Alice", SlackUser: "UALICE", Email: "alice@example.com"},
		Plan:      samplePlan(),
	}
}

func (f *fixture) create(t *testing.T, nr NewRequest) *Request {
	t.Helper()
	r, err := f.s.Create(t.Context(), nr)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return r
}

func (f *fixture) get(t *testing.T, id string) *Request {
	t.Helper()
	r, err := f.s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// moves lists "from>to" of every audit event of request id.
func (f *fixture) moves(t *testing.T, id string) []string {
	t.Helper()
	events, err := f.s.Events(t.Context(), EventQuery{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	var out []string
	for _, e := range events {
		if e.RequestID == id {
			out = append(out, string(e.From)+">"+string(e.To))
		}
	}
	return out
}

// approved creates a request and approves it with one approver.
func (f *fixture) approved(t *testing.T) *Request {
	t.Helper()
	r := f.create(t, sampleNew())
	r, err := f.s.Approve(t.Context(), r.ID, "UAPP", r.PlanHash)
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	return r
}

func wantErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if want == nil && got != nil || want != nil && !errors.Is(got, want) {
		t.Fatalf("%s: got error %v, want %v", what, got, want)
	}
}
