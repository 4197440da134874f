package approvals

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStore(t *testing.T) {
	for name, be := range backends() {
		t.Run(name, func(t *testing.T) { testStore(t, be) })
	}
}

// testStore is the contract every backend must meet.
func testStore(t *testing.T, be backend) {
	tests := map[string]func(t *testing.T, be backend){
		"lifecycle":            testLifecycle,
		"refusals":             testRefusals,
		"concurrent decisions": testConcurrentDecisions,
		"concurrent claims":    testConcurrentClaims,
		"lease takeover":       testTakeover,
		"release":              testRelease,
		"expiry by sweep":      testSweepExpiry,
		"expiry on approve":    testApproveExpiry,
		"plan change":          testPlanChange,
		"two approvers":        testTwoApprovers,
		"retry":                testRetry,
		"retention":            testRetention,
		"audit chain":          testAuditChain,
		"messages":             testMessages,
		"one round trip":       testRoundTrips,
		"memory":               testMemory,
		"fail closed":          testFailClosed,
		"stalled":              testStalled,
		"follow":               testFollow,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, be)
		})
	}
}

func testLifecycle(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	r := f.create(t, sampleNew())
	if r.State != Pending || r.Required != 1 || r.PlanHash != samplePlan().Hash() {
		t.Fatalf("created %+v", r)
	}
	if !r.Expires.Equal(epoch.Add(DefaultTTL)) {
		t.Errorf("Expires = %v, want %v", r.Expires, epoch.Add(DefaultTTL))
	}
	if diff := cmp.Diff(samplePlan(), r.Plan); diff != "" {
		t.Errorf("stored plan (-want +got):\n%s", diff)
	}
	pending, err := f.s.Pending(ctx)
	if err != nil || len(pending) != 1 || pending[0].ID != r.ID {
		t.Fatalf("Pending = %v, %v; want the new request", pending, err)
	}

	r, err = f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash)
	if err != nil || r.State != Approved {
		t.Fatalf("Approve = %+v, %v", r, err)
	}
	want := []Approval{{By: "UAPP", At: epoch}}
	if diff := cmp.Diff(want, r.Approvals); diff != "" {
		t.Errorf("approvals (-want +got):\n%s", diff)
	}
	if pending, _ := f.s.Pending(ctx); len(pending) != 0 {
		t.Errorf("Pending after approval = %d requests, want 0", len(pending))
	}

	r, err = f.s.Claim(ctx, r.ID, "replica-1", time.Minute)
	if err != nil || r.State != Executing {
		t.Fatalf("Claim = %+v, %v", r, err)
	}
	wantClaim := &Claim{Owner: "replica-1", Until: epoch.Add(time.Minute), Attempt: 1}
	if diff := cmp.Diff(wantClaim, r.Claim); diff != "" {
		t.Errorf("claim (-want +got):\n%s", diff)
	}
	results := []TokenResult{
		{Controller: "ci", JenkinsUser: "alice", UUID: "u1", Name: "laptop", Outcome: "revoked"},
		{Controller: "ci", JenkinsUser: "alice", UUID: "u2", Name: "ci", Outcome: "already_gone"},
	}
	if err := f.s.RecordResults(ctx, r.ID, "replica-1", results[:1]); err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
	if got := f.get(t, r.ID).Results; !cmp.Equal(got, results[:1]) {
		t.Errorf("recorded results = %v", got)
	}
	r, err = f.s.Finish(ctx, r.ID, "replica-1", results, false)
	if err != nil || r.State != Done {
		t.Fatalf("Finish = %+v, %v", r, err)
	}
	if diff := cmp.Diff(results, f.get(t, r.ID).Results); diff != "" {
		t.Errorf("final results (-want +got):\n%s", diff)
	}

	wantMoves := []string{">pending", "pending>approved", "approved>executing", "executing>done"}
	if diff := cmp.Diff(wantMoves, f.moves(t, r.ID)); diff != "" {
		t.Errorf("audit moves (-want +got):\n%s", diff)
	}
	for _, who := range []string{"alice", "ALICE", "UALICE"} {
		list, err := f.s.ByTarget(ctx, who)
		if err != nil || len(list) != 1 || list[0].ID != r.ID {
			t.Errorf("ByTarget(%q) = %v, %v; want the request", who, list, err)
		}
	}
}

// testRefusals checks every rule the store enforces: the call is refused
// with its sentinel, the request is unchanged and no event is written.
func testRefusals(t *testing.T, be backend) {
	f := newFixture(t, be, Options{Required: 2})
	ctx := t.Context()
	tests := []struct {
		name  string
		setup func(r *Request) // optional, before the refused call
		call  func(r *Request) error
		want  error
	}{
		{"requester approves", nil, func(r *Request) error {
			_, err := f.s.Approve(ctx, r.ID, "UREQ", r.PlanHash)
			return err
		}, ErrSelfApproval},
		{"target approves", nil, func(r *Request) error {
			_, err := f.s.Approve(ctx, r.ID, "UALICE", r.PlanHash)
			return err
		}, ErrTargetCannotAct},
		{"approver twice", func(r *Request) {
			if _, err := f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash); err != nil {
				t.Fatalf("first Approve: %v", err)
			}
		}, func(r *Request) error {
			_, err := f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash)
			return err
		}, ErrAlreadyApproved},
		{"stale plan hash", nil, func(r *Request) error {
			_, err := f.s.Approve(ctx, r.ID, "UAPP", Plan{}.Hash())
			return err
		}, ErrPlanChanged},
		{"deny without reason", nil, func(r *Request) error {
			_, err := f.s.Deny(ctx, r.ID, "UAPP", "")
			return err
		}, ErrReasonRequired},
		{"requester denies", nil, func(r *Request) error {
			_, err := f.s.Deny(ctx, r.ID, "UREQ", "no")
			return err
		}, ErrSelfApproval},
		{"target denies", nil, func(r *Request) error {
			_, err := f.s.Deny(ctx, r.ID, "UALICE", "no")
			return err
		}, ErrTargetCannotAct},
		{"other cancels", nil, func(r *Request) error {
			_, err := f.s.Cancel(ctx, r.ID, "UAPP")
			return err
		}, ErrNotRequester},
		{"other changes plan", nil, func(r *Request) error {
			_, err := f.s.UpdatePlan(ctx, r.ID, "UAPP", Plan{})
			return err
		}, ErrNotRequester},
		{"claim while pending", nil, func(r *Request) error {
			_, err := f.s.Claim(ctx, r.ID, "replica-1", time.Minute)
			return err
		}, ErrNotApproved},
		{"retry while pending", nil, func(r *Request) error {
			_, err := f.s.Retry(ctx, r.ID, "UAPP")
			return err
		}, ErrNotFailed},
		{"renew without claim", nil, func(r *Request) error {
			return f.s.Renew(ctx, r.ID, "replica-1", time.Minute)
		}, ErrNotOwner},
		{"approve after cancel", func(r *Request) {
			if _, err := f.s.Cancel(ctx, r.ID, "UREQ"); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
		}, func(r *Request) error {
			_, err := f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash)
			return err
		}, ErrAlreadyDecided},
		{"deny after deny", func(r *Request) {
			if _, err := f.s.Deny(ctx, r.ID, "UAPP", "wrong person"); err != nil {
				t.Fatalf("Deny: %v", err)
			}
		}, func(r *Request) error {
			_, err := f.s.Deny(ctx, r.ID, "UOTHER", "again")
			return err
		}, ErrAlreadyDecided},
		{"unknown id", nil, func(r *Request) error {
			_, err := f.s.Approve(ctx, "no-such-id", "UAPP", r.PlanHash)
			return err
		}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.create(t, sampleNew())
			if tt.setup != nil {
				tt.setup(r)
			}
			before, movesBefore := f.get(t, r.ID), f.moves(t, r.ID)
			err := tt.call(r)
			wantErr(t, "refused call", err, tt.want)
			if !IsRefusal(err) {
				t.Errorf("IsRefusal(%v) = false", err)
			}
			if diff := cmp.Diff(before, f.get(t, r.ID)); diff != "" {
				t.Errorf("refused call changed the request (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(movesBefore, f.moves(t, r.ID)); diff != "" {
				t.Errorf("refused call wrote events (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("target requests", func(t *testing.T) {
		nr := sampleNew()
		nr.Requester = "UALICE"
		_, err := f.s.Create(ctx, nr)
		wantErr(t, "Create by target", err, ErrTargetCannotAct)
	})
}

// testConcurrentDecisions races 50 approvers and deniers on one request:
// exactly one wins and the audit has exactly one decision event.
func testConcurrentDecisions(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	r := f.create(t, sampleNew())
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			who := fmt.Sprintf("UAPP%d", i)
			if i%2 == 0 {
				_, errs[i] = f.s.Approve(t.Context(), r.ID, who, r.PlanHash)
			} else {
				_, errs[i] = f.s.Deny(t.Context(), r.ID, who, "not now")
			}
		})
	}
	wg.Wait()

	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrAlreadyDecided):
			t.Errorf("caller %d: %v, want nil or ErrAlreadyDecided", i, err)
		}
	}
	moves := f.moves(t, r.ID)
	if wins != 1 || len(moves) != 1+wins {
		t.Fatalf("%d winners and audit moves %v; want 1 winner and 2 events", wins, moves)
	}
	got := f.get(t, r.ID)
	if got.State != Approved && got.State != Denied {
		t.Errorf("state = %s, want approved or denied", got.State)
	}
	if got.State == Approved && len(got.Approvals) != 1 {
		t.Errorf("approvals = %v, want exactly one", got.Approvals)
	}
}

func testConcurrentClaims(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	r := f.approved(t)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.s.Claim(t.Context(), r.ID, fmt.Sprintf("replica-%d", i), time.Minute)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("replicas %d and %d both claimed", winner, i)
			}
			winner = i
		} else if !errors.Is(err, ErrAlreadyClaimed) {
			t.Errorf("replica %d: %v, want ErrAlreadyClaimed", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no replica claimed")
	}
	if got := f.get(t, r.ID).Claim.Owner; got != fmt.Sprintf("replica-%d", winner) {
		t.Errorf("owner = %s, want replica-%d", got, winner)
	}
}

func testTakeover(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	r := f.approved(t)
	if _, err := f.s.Claim(ctx, r.ID, "a", time.Minute); err != nil {
		t.Fatalf("Claim by a: %v", err)
	}
	done := []TokenResult{{Controller: "ci", UUID: "u1", Outcome: "revoked"}}
	if err := f.s.RecordResults(ctx, r.ID, "a", done); err != nil {
		t.Fatalf("RecordResults by a: %v", err)
	}
	_, err := f.s.Claim(ctx, r.ID, "b", time.Minute)
	wantErr(t, "Claim by b during a's lease", err, ErrAlreadyClaimed)

	f.clock.Advance(2 * time.Minute) // a crashed; its lease ran out
	r, err = f.s.Claim(ctx, r.ID, "b", time.Minute)
	if err != nil {
		t.Fatalf("takeover by b: %v", err)
	}
	want := &Claim{Owner: "b", Until: epoch.Add(3 * time.Minute), Attempt: 1}
	if diff := cmp.Diff(want, r.Claim); diff != "" {
		t.Errorf("claim after takeover (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(done, r.Results); diff != "" {
		t.Errorf("b does not see a's progress (-want +got):\n%s", diff)
	}
	wantErr(t, "RecordResults by a", f.s.RecordResults(ctx, r.ID, "a", nil), ErrNotOwner)
	wantErr(t, "Renew by a", f.s.Renew(ctx, r.ID, "a", time.Minute), ErrNotOwner)

	if err := f.s.Renew(ctx, r.ID, "b", 5*time.Minute); err != nil {
		t.Fatalf("Renew by b: %v", err)
	}
	if got := f.get(t, r.ID).Claim.Until; !got.Equal(epoch.Add(7 * time.Minute)) {
		t.Errorf("renewed lease until %v", got)
	}
	if _, err := f.s.Finish(ctx, r.ID, "b", done, false); err != nil {
		t.Fatalf("Finish by b: %v", err)
	}
	_, err = f.s.Finish(ctx, r.ID, "a", done, false)
	wantErr(t, "Finish by a", err, ErrNotOwner)
	f.clock.Advance(time.Hour)
	_, err = f.s.Claim(ctx, r.ID, "c", time.Minute)
	wantErr(t, "Claim of a finished execution", err, ErrAlreadyDecided)

	wantMoves := []string{">pending", "pending>approved", "approved>executing",
		"executing>executing", "executing>done"}
	if diff := cmp.Diff(wantMoves, f.moves(t, r.ID)); diff != "" {
		t.Errorf("audit moves (-want +got):\n%s", diff)
	}
}

func testRelease(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	r := f.approved(t)
	if _, err := f.s.Claim(ctx, r.ID, "a", time.Hour); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	wantErr(t, "Release by b", f.s.Release(ctx, r.ID, "b"), ErrNotOwner)
	if err := f.s.Release(ctx, r.ID, "a"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := f.get(t, r.ID).State; got != Executing {
		t.Errorf("state after release = %s, want executing", got)
	}
	if r, err := f.s.Claim(ctx, r.ID, "b", time.Hour); err != nil || r.Claim.Owner != "b" {
		t.Fatalf("Claim after release = %+v, %v", r, err)
	}
}

func testSweepExpiry(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	nr := sampleNew()
	nr.TTL = time.Hour
	short := f.create(t, nr)
	long := f.create(t, sampleNew()) // default 24h

	if got, err := f.s.SweepExpired(ctx, "r1"); err != nil || len(got) != 0 {
		t.Fatalf("early sweep = %v, %v; want nothing", got, err)
	}
	f.clock.Advance(2 * time.Hour)
	if got, err := f.s.SweepExpired(ctx, "r2"); err != nil || got != nil {
		t.Fatalf("sweep without the lease = %v, %v; want nothing", got, err)
	}
	got, err := f.s.SweepExpired(ctx, "r1")
	if err != nil || len(got) != 1 || got[0].ID != short.ID || got[0].State != Expired {
		t.Fatalf("sweep = %v, %v; want the short request expired", got, err)
	}
	if s := f.get(t, long.ID).State; s != Pending {
		t.Errorf("long request state = %s, want pending", s)
	}
	if p, _ := f.s.Pending(ctx); len(p) != 1 || p[0].ID != long.ID {
		t.Errorf("Pending = %v, want only the long request", p)
	}
	if got, _ := f.s.SweepExpired(ctx, "r1"); len(got) != 0 {
		t.Errorf("second sweep expired %d again", len(got))
	}
	if diff := cmp.Diff([]string{">pending", "pending>expired"}, f.moves(t, short.ID)); diff != "" {
		t.Errorf("audit moves (-want +got):\n%s", diff)
	}
}

func testApproveExpiry(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	r := f.create(t, sampleNew())
	f.clock.Advance(DefaultTTL)
	for range 2 {
		_, err := f.s.Approve(t.Context(), r.ID, "UAPP", r.PlanHash)
		wantErr(t, "Approve at the deadline", err, ErrExpired)
	}
	got := f.get(t, r.ID)
	if got.State != Expired || len(got.Approvals) != 0 {
		t.Errorf("after late approval: state %s approvals %v", got.State, got.Approvals)
	}
	if diff := cmp.Diff([]string{">pending", "pending>expired"}, f.moves(t, r.ID)); diff != "" {
		t.Errorf("audit moves (-want +got):\n%s", diff)
	}
}

func testPlanChange(t *testing.T, be backend) {
	f := newFixture(t, be, Options{Required: 2})
	ctx := t.Context()
	r := f.create(t, sampleNew())
	oldHash := r.PlanHash
	if _, err := f.s.Approve(ctx, r.ID, "UAPP", oldHash); err != nil {
		t.Fatalf("Approve: %v", err)
	}
	plan := samplePlan()
	plan.Controllers[0].Tokens = plan.Controllers[0].Tokens[:1]
	r, err := f.s.UpdatePlan(ctx, r.ID, "UREQ", plan)
	if err != nil {
		t.Fatalf("UpdatePlan: %v", err)
	}
	if len(r.Approvals) != 0 || r.PlanHash != plan.Hash() || !cmp.Equal(r.Plan, plan) {
		t.Fatalf("after UpdatePlan: %+v", r)
	}
	_, err = f.s.Approve(ctx, r.ID, "UOTHER", oldHash)
	wantErr(t, "Approve with old hash", err, ErrPlanChanged)
	if r, err = f.s.Approve(ctx, r.ID, "UAPP", plan.Hash()); err != nil || r.State != Pending {
		t.Fatalf("Approve again = %+v, %v; want still pending (1 of 2)", r, err)
	}
	events, _ := f.s.Events(ctx, EventQuery{})
	last := events[len(events)-2] // the plan change, before the last approval
	if !cmp.Equal(last.PlanHash, plan.Hash()) || string(last.Details) !=
		`{"old_plan_hash":"`+oldHash+`","voided_approvals":1}` {
		t.Errorf("plan change event = %+v details %s", last, last.Details)
	}
}

func testTwoApprovers(t *testing.T, be backend) {
	f := newFixture(t, be, Options{Required: 2})
	ctx := t.Context()
	r := f.create(t, sampleNew())
	if r.Required != 2 {
		t.Fatalf("Required = %d, want 2", r.Required)
	}
	r, err := f.s.Approve(ctx, r.ID, "UAPP1", r.PlanHash)
	if err != nil || r.State != Pending {
		t.Fatalf("first approval = %+v, %v; want pending", r, err)
	}
	_, err = f.s.Claim(ctx, r.ID, "replica", time.Minute)
	wantErr(t, "Claim after one of two approvals", err, ErrNotApproved)
	f.clock.Advance(time.Second)
	r, err = f.s.Approve(ctx, r.ID, "UAPP2", r.PlanHash)
	if err != nil || r.State != Approved {
		t.Fatalf("second approval = %+v, %v; want approved", r, err)
	}
	want := []Approval{{By: "UAPP1", At: epoch}, {By: "UAPP2", At: epoch.Add(time.Second)}}
	if diff := cmp.Diff(want, r.Approvals); diff != "" {
		t.Errorf("approvals (-want +got):\n%s", diff)
	}
}

func testRetry(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	r := f.approved(t)
	if _, err := f.s.Claim(ctx, r.ID, "a", time.Minute); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	bad := []TokenResult{{UUID: "u1", Outcome: "still_present"}}
	if r, err := f.s.Finish(ctx, r.ID, "a", bad, true); err != nil || r.State != Failed {
		t.Fatalf("Finish failed = %+v, %v", r, err)
	}
	_, err := f.s.Claim(ctx, r.ID, "b", time.Minute)
	wantErr(t, "Claim of a failed request", err, ErrAlreadyDecided)
	_, err = f.s.Retry(ctx, r.ID, "UREQ")
	wantErr(t, "Retry by requester", err, ErrSelfApproval)
	_, err = f.s.Retry(ctx, r.ID, "UALICE")
	wantErr(t, "Retry by target", err, ErrTargetCannotAct)
	if r, err := f.s.Retry(ctx, r.ID, "UAPP2"); err != nil || r.State != Approved {
		t.Fatalf("Retry = %+v, %v", r, err)
	}
	r, err = f.s.Claim(ctx, r.ID, "b", time.Minute)
	if err != nil || r.Claim.Attempt != 2 {
		t.Fatalf("Claim after retry = %+v, %v; want attempt 2", r, err)
	}
	if _, err := f.s.Finish(ctx, r.ID, "b", nil, false); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	_, err = f.s.Retry(ctx, r.ID, "UAPP2")
	wantErr(t, "Retry of a done request", err, ErrNotFailed)
}

func testRetention(t *testing.T, be backend) {
	f := newFixture(t, be, Options{Retention: 24 * time.Hour})
	ctx := t.Context()
	denied := f.create(t, sampleNew())
	if _, err := f.s.Deny(ctx, denied.ID, "UAPP", "wrong alice"); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	nr := sampleNew()
	nr.TTL = 72 * time.Hour
	kept := f.create(t, nr)

	f.clock.Advance(23 * time.Hour)
	if _, err := f.s.SweepExpired(ctx, "r"); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	f.get(t, denied.ID) // still kept within retention
	f.clock.Advance(2 * time.Hour)
	if _, err := f.s.SweepExpired(ctx, "r"); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	_, err := f.s.Get(ctx, denied.ID)
	wantErr(t, "Get after retention", err, ErrNotFound)
	f.get(t, kept.ID)
	list, err := f.s.ByTarget(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != kept.ID {
		t.Errorf("ByTarget = %v, %v; want only the pending request", list, err)
	}
	for _, key := range []string{f.s.indexKey("alice"), f.s.indexKey("UALICE")} {
		if n, _ := f.rdb.SCard(ctx, key).Result(); n != 1 {
			t.Errorf("index %s holds %d ids, want 1", key, n)
		}
	}
	if n, _ := f.rdb.ZCard(ctx, f.s.key("retain")).Result(); n != 0 {
		t.Errorf("retention index holds %d entries, want 0", n)
	}
}

func testMessages(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	r := f.create(t, sampleNew())
	refs := []MessageRef{{Kind: "request", Channel: "C1", TS: "1.2"},
		{Kind: "approver", Channel: "C2", TS: "3.4", ThreadTS: "1.2"}}
	if err := f.s.SetMessages(t.Context(), r.ID, refs); err != nil {
		t.Fatalf("SetMessages: %v", err)
	}
	if diff := cmp.Diff(refs, f.get(t, r.ID).Messages); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	err := f.s.SetMessages(t.Context(), "no-such-id", refs)
	wantErr(t, "SetMessages unknown", err, ErrNotFound)
	if _, err := f.s.Get(t.Context(), "no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetMessages created a request: Get = %v", err)
	}
}

// testMemory keeps a pending request with a typical plan under 2 KB of
// Redis memory (its hash; indexes and audit come on top).
func testMemory(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	r := f.create(t, sampleNew())
	n, err := f.rdb.MemoryUsage(t.Context(), f.s.reqKey(r.ID)).Result()
	if err != nil {
		t.Fatalf("MEMORY USAGE: %v", err)
	}
	t.Logf("pending request: %d bytes", n)
	if n >= 2048 {
		t.Errorf("pending request takes %d bytes, want under 2048", n)
	}
}

func testStalled(t *testing.T, be backend) {
	f := newFixture(t, be, Options{})
	ctx := t.Context()
	stalled := func(want ...string) {
		t.Helper()
		list, err := f.s.Stalled(ctx)
		if err != nil {
			t.Fatalf("Stalled: %v", err)
		}
		var got []string
		for _, r := range list {
			got = append(got, r.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stalled ids (-want +got):\n%s", diff)
		}
	}
	f.create(t, sampleNew()) // pending: never stalled
	r := f.approved(t)
	stalled(r.ID)
	if n, err := f.s.PendingCount(ctx); err != nil || n != 1 {
		t.Errorf("PendingCount = %d, %v; want 1", n, err)
	}
	if _, err := f.s.Claim(ctx, r.ID, "a", time.Minute); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	stalled()
	f.clock.Advance(time.Minute)
	stalled(r.ID)
	if _, err := f.s.Claim(ctx, r.ID, "b", time.Minute); err != nil {
		t.Fatalf("takeover: %v", err)
	}
	if _, err := f.s.Finish(ctx, r.ID, "b", nil, true); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	stalled()
	if _, err := f.s.Retry(ctx, r.ID, "UAPP"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	stalled(r.ID)
}
