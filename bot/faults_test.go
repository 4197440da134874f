package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// cutRedis cuts every replica's way to Redis.
func (e *env) cutRedis(cut bool) {
	for _, r := range e.runs {
		if cut {
			r.proxy.Cut()
		} else {
			r.proxy.Restore()
		}
	}
}

// TestRedisDownFailsClosedAndRecovers cuts Redis away from both replicas:
// a command and an Approve click are answered with words, nothing is
// revoked without a recorded approval, and once Redis is back the same
// replicas list, approve and execute without a restart.
func TestRedisDownFailsClosedAndRecovers(t *testing.T) {
	e := newEnv(t, envOptions{replicas: 2, proxied: true})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())

	e.cutRedis(true)
	e.slack.SlashCommand(uRequester, chOps, "alice")
	e.waitEphemeral(uRequester, "could not store the listing (Redis did not answer)")
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitEphemeral(uApprover, "the approval store did not answer. Nothing changed")
	time.Sleep(300 * time.Millisecond)
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Fatalf("%d revoke calls while no approval could be recorded", n)
	}
	if n := len(e.botMessages(chOps, "Jenkins API tokens of")); n != 1 {
		t.Errorf("%d listings posted, want only the one from before the outage", n)
	}

	e.cutRedis(false)
	e.slack.SlashCommand(uRequester, chOps, "alice")
	e.waitFor("a listing after the outage", func() bool {
		return len(e.botMessages(chOps, "Jenkins API tokens of")) == 2
	})
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the revocation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "1 revoked and verified")
	})
	if n := e.jenkins[0].RevokeCalls(u); n != 1 {
		t.Errorf("token revoked %d times, want 1", n)
	}
}

// controllerFaults are the ways one controller misbehaves, with the words
// the bot must show for it.
var controllerFaults = []struct {
	name  string
	fault jenkinstest.Fault
	words string
}{
	{"500", jenkinstest.Fault{Kind: jenkinstest.FaultStatus500}, "500"},
	{"login page", jenkinstest.Fault{Kind: jenkinstest.FaultLoginPage}, "login page"},
	{"hang", jenkinstest.Fault{Kind: jenkinstest.FaultHang}, "did not answer in time"},
	{"reset", jenkinstest.Fault{Kind: jenkinstest.FaultReset}, "try again later"},
}

// TestControllerFaultDuringListing breaks ci-b's script console: the
// listing shows ci-a's token and says in words what ci-b did.
func TestControllerFaultDuringListing(t *testing.T) {
	for _, tc := range controllerFaults {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{controllers: 2})
			e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
			e.jenkins[1].AddToken("alice", jenkinstest.TokenSpec{Name: "laptop"})
			e.jenkins[1].SetFault("/scriptText", tc.fault)
			text := e.listAlice().PlainText()
			if !strings.Contains(text, "deploy") || strings.Contains(text, "laptop") {
				t.Errorf("listing should show ci-a's token only:\n%s", text)
			}
			if !strings.Contains(text, "ci-b") || !strings.Contains(text, tc.words) {
				t.Errorf("listing does not say %q about ci-b:\n%s", tc.words, text)
			}
		})
	}
}

// TestControllerFaultDuringRevocation breaks ci-b's revoke endpoint: ci-a's
// token is revoked, ci-b's ends as an error in words with a Retry button,
// and the retry, once ci-b works, revokes only what was left.
func TestControllerFaultDuringRevocation(t *testing.T) {
	for _, tc := range controllerFaults {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{controllers: 2})
			ua, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
			ub, _ := e.jenkins[1].AddToken("alice", jenkinstest.TokenSpec{Name: "laptop"})
			approval := e.requestAll(e.listAlice())
			e.jenkins[1].SetFault(revokePath, tc.fault)
			e.slack.Click(uApprover, approval, actionApprove)
			e.waitFor("the failure", func() bool {
				return strings.Contains(e.refresh(approval).PlainText(), "[Retry failed tokens]")
			})
			text := e.refresh(approval).PlainText()
			if !strings.Contains(text, "1 revoked and verified") {
				t.Errorf("ci-a's revocation is not reported:\n%s", text)
			}
			e.checkFailureWords(tc.words)
			e.jenkins[1].ClearFaults()
			e.slack.Click(uApprover2, e.refresh(approval), actionRetry)
			e.waitFor("the retry", func() bool {
				return strings.Contains(e.refresh(approval).PlainText(), "2 revoked and verified")
			})
			if n := e.jenkins[0].RevokeCalls(ua); n != 1 {
				t.Errorf("ci-a token revoked %d times, want 1", n)
			}
			if n := e.jenkins[1].RevokeCalls(ub); n != 1 {
				t.Errorf("ci-b token revoked %d times, want 1", n)
			}
		})
	}
}

// checkFailureWords finds ci-b's failed result and checks its words.
func (e *env) checkFailureWords(words string) {
	e.t.Helper()
	reqs, err := e.store.ByTarget(e.t.Context(), "alice")
	if err != nil || len(reqs) != 1 {
		e.t.Fatalf("requests of alice: %v, %v", reqs, err)
	}
	if reqs[0].State != approvals.Failed {
		e.t.Errorf("request is %s, want failed", reqs[0].State)
	}
	for _, r := range reqs[0].Results {
		if r.Controller == "ci-b" && !strings.Contains(r.Detail, words) {
			e.t.Errorf("ci-b result %s: %q, want words %q", r.Outcome, r.Detail, words)
		}
	}
}

// TestSlackRateLimitHonoured answers 429 with Retry-After: 1 to the first
// chat.postMessage and chat.update calls: the bot waits and the messages
// still arrive.
func TestSlackRateLimitHonoured(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.RateLimit("chat.postMessage", 1)
	listing := e.listAlice()
	e.checkRetriedAfter("chat.postMessage")
	approval := e.requestAll(listing)
	e.slack.RateLimit("chat.update", 1)
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the revocation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "1 revoked and verified")
	})
	e.checkRetriedAfter("chat.update")
}

// checkRetriedAfter checks that the first call of method was rate limited
// and the next came at least the Retry-After second later.
func (e *env) checkRetriedAfter(method string) {
	e.t.Helper()
	calls := e.slack.Calls(method)
	if len(calls) < 2 || calls[0].Error == "" || calls[1].Error != "" {
		e.t.Fatalf("%s calls: %+v, want a refused one then a good one", method, calls)
	}
	if gap := calls[1].Time.Sub(calls[0].Time); gap < 900*time.Millisecond {
		e.t.Errorf("%s retried after %v, before Retry-After", method, gap)
	}
}

// TestSocketDisconnectAndDrop sends Socket Mode's disconnect frame, then
// drops the socket without one: the bot reconnects each time and keeps
// serving, and a click Slack redelivers on the new socket is handled once.
func TestSocketDisconnectAndDrop(t *testing.T) {
	e := newEnv(t, envOptions{})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.Disconnect("refresh_requested")
	e.waitReconnect(2)
	approval := e.requestAll(e.listAlice())

	id := e.slack.Click(uApprover, approval, actionApprove)
	if _, err := e.slack.WaitAck(id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	e.slack.Drop()
	e.waitReconnect(3)
	e.slack.Redeliver(id)
	e.waitFor("the revocation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "1 revoked and verified")
	})
	time.Sleep(300 * time.Millisecond) // room for the redelivery's effect
	if n := e.jenkins[0].RevokeCalls(u); n != 1 {
		t.Errorf("token revoked %d times, want 1", n)
	}
	if m := e.slack.Ephemerals(uApprover); len(m) != 0 {
		t.Errorf("the redelivered click was answered: %s", m[0].PlainText())
	}
	if connected, _ := e.bots[0].Status(); !connected {
		t.Errorf("bot reports it is not connected")
	}
}

// waitReconnect waits for the opens-th successful connection and a socket.
func (e *env) waitReconnect(opens int) {
	e.t.Helper()
	if err := e.slack.WaitOpen(opens, 10*time.Second); err != nil {
		e.t.Fatal(err)
	}
	e.waitFor("an open socket", func() bool { return len(e.slack.Sockets()) == 1 })
}
