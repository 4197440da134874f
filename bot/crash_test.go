package bot

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// revokePath is where the bot revokes alice's tokens.
const revokePath = "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/revoke"

// halfRevoked opens a request for alice's tokens on two controllers, makes
// ci-b hang on revoke calls, has replica 0 approve it, and returns once
// replica 0 revoked ci-a's tokens and is stuck on ci-b's.
func (e *env) halfRevoked() (approval slacktest.Message, id string, a, b []string) {
	e.t.Helper()
	for _, name := range []string{"deploy", "laptop"} {
		u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: name})
		a = append(a, u)
		u, _ = e.jenkins[1].AddToken("alice", jenkinstest.TokenSpec{Name: name})
		b = append(b, u)
	}
	approval = e.requestAll(e.listAlice())
	pending, err := e.store.Pending(e.t.Context())
	if err != nil || len(pending) != 1 {
		e.t.Fatalf("pending requests: %v, %v", pending, err)
	}
	id = pending[0].ID
	e.jenkins[1].SetFault(revokePath, jenkinstest.Fault{Kind: jenkinstest.FaultHang})
	e.slack.Click(uApprover, approval, actionApprove, slacktest.ToSocket(e.runs[0].socket))
	e.waitFor("replica 0 to revoke on ci-a and hang on ci-b", func() bool {
		return e.jenkins[0].RevokeCalls(a[0]) == 1 && e.jenkins[0].RevokeCalls(a[1]) == 1 &&
			e.jenkins[1].Calls("POST", revokePath) == 2
	})
	req, err := e.store.Get(e.t.Context(), id)
	if err != nil || req.Claim == nil || req.Claim.Owner != e.bots[0].cfg.ReplicaID {
		e.t.Fatalf("replica 0 does not hold the claim: %+v, %v", req, err)
	}
	return approval, id, a, b
}

// checkFinished checks that every token is gone, was revoked exactly once,
// and that the approval message shows the final results.
func (e *env) checkFinished(approval slacktest.Message, summary string, tokens ...[]string) {
	e.t.Helper()
	e.waitFor("the approval message to show the results", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), summary)
	})
	text := e.refresh(approval).PlainText()
	if strings.Contains(text, "revoking and verifying") || strings.Contains(text, "[Approve]") {
		e.t.Errorf("approval message is not final:\n%s", text)
	}
	for i, uuids := range tokens {
		for _, u := range uuids {
			if n := e.jenkins[i].RevokeCalls(u); n != 1 {
				e.t.Errorf("%s token %s revoked %d times, want 1", controllerName(i), u[:8], n)
			}
		}
		if st, _ := e.jenkins[i].UserState("alice"); len(st.Tokens) != 0 {
			e.t.Errorf("alice keeps %d tokens on %s", len(st.Tokens), controllerName(i))
		}
	}
}

// TestCrashedReplicaIsTakenOverAfterLease kills replica 0 after it claimed
// an execution and revoked some tokens: it renews nothing and hands nothing
// back. Another replica's sweep leaves the claim alone while the lease
// runs, takes it over once it has run out, and finishes the rest.
func TestCrashedReplicaIsTakenOverAfterLease(t *testing.T) {
	const lease = 2 * time.Second
	e := newEnv(t, envOptions{controllers: 2, replicas: 3, proxied: true, lease: lease,
		shutdownGrace: 100 * time.Millisecond})
	approval, id, a, b := e.halfRevoked()
	e.crash(0)

	e.bots[1].sweep(t.Context())
	req, err := e.store.Get(t.Context(), id)
	if err != nil || req.Claim.Owner != e.bots[0].cfg.ReplicaID {
		t.Fatalf("the claim moved before its lease ran out: %+v, %v", req.Claim, err)
	}
	e.jenkins[1].ClearFaults()
	e.clock.Advance(lease + time.Second)
	e.bots[1].sweep(t.Context())

	req = e.waitState(id, approvals.Done)
	if req.Claim.Owner != e.bots[1].cfg.ReplicaID {
		t.Errorf("finished by %s, want replica 1", req.Claim.Owner)
	}
	e.checkFinished(approval, "2 revoked and verified, 2 already gone", a, b)
	events, err := e.store.Events(t.Context(), approvals.EventQuery{Target: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(events, func(ev approvals.Event) bool {
		return strings.Contains(string(ev.Details), `"takeover_from":"`+
			e.bots[0].cfg.ReplicaID+`"`)
	}) {
		t.Errorf("no takeover in the audit trail")
	}
	e.waitMessage(chOps, "finished: 2 revoked and verified")
}

// TestGracefulShutdownHandsLeaseBack stops replica 0 as SIGTERM does while
// it waits on a hanging controller: after the short grace it records what
// it revoked and gives the lease back, so that another replica finishes at
// once, without waiting for the lease, and revokes only what was left.
func TestGracefulShutdownHandsLeaseBack(t *testing.T) {
	e := newEnv(t, envOptions{controllers: 2, replicas: 2, lease: time.Minute,
		shutdownGrace: 200 * time.Millisecond})
	approval, id, a, b := e.halfRevoked()
	e.stop(0)

	req, err := e.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if req.State != approvals.Executing || req.Claim.Until.After(e.clock.Now()) {
		t.Fatalf("lease not handed back: state %s, claim %+v", req.State, req.Claim)
	}
	if got := len(finalResults(req.Results)); got != 2 {
		t.Errorf("%d results kept for the next replica, want ci-a's 2", got)
	}
	listed := e.jenkins[0].TotalCalls()
	e.jenkins[1].ClearFaults()
	e.bots[1].sweep(t.Context())
	e.waitState(id, approvals.Done)
	e.checkFinished(approval, "4 revoked and verified", a, b)
	if n := e.jenkins[0].TotalCalls(); n != listed {
		t.Errorf("the second replica called ci-a %d times; its tokens were done", n-listed)
	}
}

// TestRestartKeepsPendingRequests stops every replica and starts three new
// ones on the same Redis: the pending request is still there, a new
// replica approves it, and it executes once.
func TestRestartKeepsPendingRequests(t *testing.T) {
	e := newEnv(t, envOptions{replicas: 3})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())
	for i := range 3 {
		e.stop(i)
	}
	for range 3 {
		e.startBot(e.opts)
	}
	e.waitFor("only the new replicas' sockets", func() bool {
		return len(e.slack.Sockets()) == 3
	})
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the revocation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "1 revoked and verified")
	})
	if n := e.jenkins[0].RevokeCalls(u); n != 1 {
		t.Errorf("token revoked %d times, want 1", n)
	}
}

// TestLeaseRenewedDuringLongExecution runs an execution that takes longer
// than its lease, on the wall clock, while another replica sweeps for
// lapsed leases all the time: the owner renews its lease, so the other
// replica never takes over and every token is revoked exactly once.
func TestLeaseRenewedDuringLongExecution(t *testing.T) {
	const lease = 600 * time.Millisecond
	e := newEnv(t, envOptions{replicas: 2, realTime: true, lease: lease,
		sweepEvery: 50 * time.Millisecond, jenkinsTimeout: 5 * time.Second})
	j := e.jenkins[0]
	a, _ := j.AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	b, _ := j.AddToken("alice", jenkinstest.TokenSpec{Name: "laptop"})
	approval := e.requestAll(e.listAlice())
	j.SetFault("/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/revoke",
		jenkinstest.Fault{Kind: jenkinstest.FaultSlow, Delay: 3 * lease})

	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the revocation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "2 revoked and verified")
	})
	for _, u := range []string{a, b} {
		if n := j.RevokeCalls(u); n != 1 {
			t.Errorf("token %s revoked %d times, want once", u[:8], n)
		}
	}
	events, err := e.store.Events(t.Context(), approvals.EventQuery{Target: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if strings.Contains(string(ev.Details), "takeover_from") {
			t.Errorf("a replica took over a lease its owner was renewing: %s", ev.Details)
		}
	}
}
