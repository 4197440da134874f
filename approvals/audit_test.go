package approvals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func testAuditChain(t *testing.T, be backend) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *fixture, ids []string)
		broken int // index of the first broken entry; -1 for the head
	}{
		{"edited event", func(t *testing.T, f *fixture, ids []string) {
			rewrite(t, f, ids[2], func(ev string) string {
				return strings.Replace(ev, `"UREQ"`, `"UEVIL"`, 1)
			})
		}, 2},
		{"deleted event", func(t *testing.T, f *fixture, ids []string) {
			if err := f.rdb.XDel(t.Context(), f.s.key("audit"), ids[1]).Err(); err != nil {
				t.Fatal(err)
			}
		}, 2},
		{"deleted last event", func(t *testing.T, f *fixture, ids []string) {
			if err := f.rdb.XDel(t.Context(), f.s.key("audit"), ids[3]).Err(); err != nil {
				t.Fatal(err)
			}
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, be, Options{})
			f.approved(t)
			if _, err := f.s.Deny(t.Context(), f.create(t, sampleNew()).ID, "UAPP", "x"); err != nil {
				t.Fatal(err)
			}
			ids := eventIDs(t, f)
			if len(ids) != 4 {
				t.Fatalf("%d events for 2 creates, 1 approval, 1 denial; want 4", len(ids))
			}
			got, err := f.s.Verify(t.Context())
			if err != nil || got != (VerifyResult{Checked: 4}) {
				t.Fatalf("Verify before tampering = %+v, %v", got, err)
			}

			tt.tamper(t, f, ids)
			got, err = f.s.Verify(t.Context())
			want := "head"
			if tt.broken >= 0 {
				want = ids[tt.broken]
			}
			if err != nil || got.BrokenAt != want || got.Reason == "" {
				t.Errorf("Verify after tampering = %+v, %v; want broken at %s", got, err, want)
			}
		})
	}
}

// testFailClosed breaks the audit stream (wrong key type): the transition
// must fail with a Redis error, not a refusal, and change nothing.
func testFailClosed(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	r := f.create(t, sampleNew())
	before := f.get(t, r.ID)
	if err := f.rdb.Del(ctx, f.s.key("audit")).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Set(ctx, f.s.key("audit"), "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash)
	if err == nil || IsRefusal(err) {
		t.Fatalf("Approve with a broken audit stream = %v; want a redis error", err)
	}
	if diff := cmp.Diff(before, f.get(t, r.ID)); diff != "" {
		t.Errorf("request changed without an audit event (-before +after):\n%s", diff)
	}
}

func eventIDs(t *testing.T, f *fixture) []string {
	t.Helper()
	events, err := f.s.Events(t.Context(), EventQuery{})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

// rewrite edits the stored JSON of one event in place, keeping its hash, by
// rebuilding the stream with the same entry ids.
func rewrite(t *testing.T, f *fixture, id string, edit func(string) string) {
	t.Helper()
	ctx, key := t.Context(), f.s.key("audit")
	msgs, err := f.rdb.XRange(ctx, key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		ev := m.Values["event"].(string)
		if m.ID == id {
			if ev == edit(ev) {
				t.Fatalf("edit changed nothing in %s", ev)
			}
			ev = edit(ev)
		}
		args := &redis.XAddArgs{Stream: key, ID: m.ID,
			Values: []any{"event", ev, "hash", m.Values["hash"]}}
		if err := f.rdb.XAdd(ctx, args).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// countHook counts round trips: one per command, one per pipeline. The
// commands go-redis sends once per new pooled connection (HELLO, CLIENT) are
// not counted: they are not part of any transition.
type countHook struct{ n atomic.Int64 }

func connSetup(cmd redis.Cmder) bool {
	return cmd.Name() == "hello" || cmd.Name() == "client"
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !connSetup(cmd) {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return !connSetup(c) }) {
			return next(ctx, cmds)
		}
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// testRoundTrips asserts that every transition is one round trip.
func testRoundTrips(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	if err := f.s.LoadScripts(ctx); err != nil {
		t.Fatalf("LoadScripts: %v", err)
	}
	hook := &countHook{}
	f.rdb.AddHook(hook)
	var r, r2 *Request
	steps := []struct {
		name string
		do   func() error
	}{
		{"create", func() (err error) { r, err = f.s.Create(ctx, sampleNew()); return err }},
		{"update plan", func() (err error) {
			r, err = f.s.UpdatePlan(ctx, r.ID, "UREQ", Plan{})
			return err
		}},
		{"approve", func() (err error) {
			r, err = f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash)
			return err
		}},
		{"claim", func() (err error) { _, err = f.s.Claim(ctx, r.ID, "a", time.Minute); return err }},
		{"renew", func() error { return f.s.Renew(ctx, r.ID, "a", time.Minute) }},
		{"record", func() error { return f.s.RecordResults(ctx, r.ID, "a", nil) }},
		{"release", func() error { return f.s.Release(ctx, r.ID, "a") }},
		{"takeover", func() (err error) { _, err = f.s.Claim(ctx, r.ID, "b", time.Minute); return err }},
		{"finish", func() (err error) { _, err = f.s.Finish(ctx, r.ID, "b", nil, true); return err }},
		{"retry", func() (err error) { _, err = f.s.Retry(ctx, r.ID, "UAPP"); return err }},
		{"create 2", func() (err error) { r2, err = f.s.Create(ctx, sampleNew()); return err }},
		{"deny", func() (err error) { _, err = f.s.Deny(ctx, r2.ID, "UAPP", "no"); return err }},
		{"refused approve", func() error {
			_, err := f.s.Approve(ctx, r2.ID, "UAPP", r2.PlanHash)
			if errors.Is(err, ErrAlreadyDecided) {
				return nil
			}
			return fmt.Errorf("got %v, want ErrAlreadyDecided", err)
		}},
		{"sweep", func() (err error) { _, err = f.s.SweepExpired(ctx, "a"); return err }},
	}
	for _, st := range steps {
		before := hook.n.Load()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n := hook.n.Load() - before; n != 1 {
			t.Errorf("%s took %d round trips, want 1", st.name, n)
		}
	}
}

func TestPlanHash(t *testing.T) {
	base := samplePlan()
	tests := []struct {
		name string
		plan Plan
		same bool
	}{
		{"identical", samplePlan(), true},
		{"tokens reordered", Plan{EndSessions: true, Controllers: []ControllerPlan{{
			Controller: "ci", JenkinsUser: "alice",
			Tokens: []PlannedToken{{UUID: "u2", Name: "ci"}, {UUID: "u1", Name: "laptop"}},
		}}}, true},
		{"controllers reordered", Plan{Controllers: []ControllerPlan{
			{Controller: "b", JenkinsUser: "x"}, {Controller: "a", JenkinsUser: "x"},
		}}, false},
		{"token dropped", Plan{EndSessions: true, Controllers: []ControllerPlan{{
			Controller: "ci", JenkinsUser: "alice", Tokens: base.Controllers[0].Tokens[:1],
		}}}, false},
		{"sessions kept", Plan{EndSessions: false, Controllers: base.Controllers}, false},
		{"legacy flag", Plan{EndSessions: true, Controllers: []ControllerPlan{{
			Controller: "ci", JenkinsUser: "alice",
			Tokens: []PlannedToken{{UUID: "u1", Name: "laptop", Legacy: true}, {UUID: "u2", Name: "ci"}},
		}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.Hash() == base.Hash(); got != tt.same {
				t.Errorf("same hash = %v, want %v", got, tt.same)
			}
		})
	}
	a := Plan{Controllers: []ControllerPlan{{Controller: "b"}, {Controller: "a"}}}
	b := Plan{Controllers: []ControllerPlan{{Controller: "a"}, {Controller: "b"}}}
	if a.Hash() != b.Hash() {
		t.Error("controller order changes the hash")
	}
}

func TestOpenEmbedded(t *testing.T) {
	s, err := Open(t.Context(), "", Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if !s.Embedded() {
		t.Error("Embedded() = false for Open(\"\")")
	}
	r, err := s.Create(t.Context(), sampleNew())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := s.Approve(t.Context(), r.ID, "UAPP", r.PlanHash); err != nil {
		t.Fatalf("Approve: %v", err)
	}
}

// TestRedisFailureIsNoRefusal checks that an unreachable Redis yields an
// error that no caller can mistake for a refusal.
func TestRedisFailureIsNoRefusal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	_, err = Open(t.Context(), "redis://"+addr, Options{})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	s := New(rdb, Options{})
	_, err = s.Approve(t.Context(), "id", "UAPP", "hash")
	if err == nil || IsRefusal(err) {
		t.Errorf("Approve on dead redis = %v; want a non-refusal error", err)
	}
}

func TestEventsQueryAndJSONLines(t *testing.T) {
	f := newFixture(t, miniBackend, Options{})
	ctx := t.Context()
	a := f.create(t, sampleNew())
	f.clock.Advance(time.Hour)
	nr := sampleNew()
	nr.Target = Target{Label: "bob", SlackUser: "UBOB"}
	b := f.create(t, nr)
	if _, err := f.s.Deny(ctx, b.ID, "UAPP", "typo"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    EventQuery
		want []string // request ids
	}{
		{"all", EventQuery{}, []string{a.ID, b.ID, b.ID}},
		{"by label", EventQuery{Target: "ALICE"}, []string{a.ID}},
		{"by slack user", EventQuery{Target: "UBOB"}, []string{b.ID, b.ID}},
		{"since", EventQuery{Since: epoch.Add(time.Minute)}, []string{b.ID, b.ID}},
		{"until", EventQuery{Until: epoch.Add(time.Minute)}, []string{a.ID}},
		{"limit", EventQuery{Limit: 2}, []string{a.ID, b.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := f.s.Events(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range events {
				got = append(got, e.RequestID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("request ids (-want +got):\n%s", diff)
			}
		})
	}

	events, _ := f.s.Events(ctx, EventQuery{})
	var buf bytes.Buffer
	if err := WriteJSONLines(&buf, events); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(events) {
		t.Fatalf("%d lines for %d events", len(lines), len(events))
	}
	var last Event
	if err := json.Unmarshal([]byte(lines[2]), &last); err != nil {
		t.Fatal(err)
	}
	if last.To != Denied || last.Actor != "UAPP" || string(last.Details) != `{"reason":"typo"}` ||
		last.Hash == "" || last.PrevHash != events[1].Hash {
		t.Errorf("last line = %+v", last)
	}
}
