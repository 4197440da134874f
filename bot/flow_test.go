package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// listAlice runs /jenkins-tokens alice as the requester and returns the
// listing's first message.
func (e *env) listAlice() slacktest.Message {
	e.t.Helper()
	e.slack.SlashCommand(uRequester, chOps, "alice")
	return e.waitMessage(chOps, "Jenkins API tokens of")
}

// requestAll clicks Revoke all and returns the approval message once the
// request knows where its messages are.
func (e *env) requestAll(listing slacktest.Message) slacktest.Message {
	e.t.Helper()
	e.slack.Click(uRequester, listing, actionRevokeAll)
	m := e.waitMessage(chOps, "Revocation request")
	e.waitFor("the request to record its messages", func() bool {
		reqs, _ := e.store.Pending(e.t.Context())
		for _, r := range reqs {
			if len(r.Messages) > 0 && r.Messages[0].TS == m.TS {
				return true
			}
		}
		return false
	})
	return m
}

func TestRevokeAllApprovedEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	j := e.jenkins[0]
	u1, v1 := j.AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	u2, v2 := j.AddToken("alice", jenkinstest.TokenSpec{Name: "laptop"})
	u3, _ := j.AddLegacyToken("alice")
	e.secrets = append(e.secrets, v1, v2)

	listing := e.listAlice()
	for _, want := range []string{"deploy", "laptop", "legacy", u1[:8], "3 tokens"} {
		if !strings.Contains(listing.PlainText(), want) {
			t.Errorf("listing lacks %q:\n%s", want, listing.PlainText())
		}
	}
	approval := e.requestAll(listing)
	if !strings.Contains(approval.PlainText(), "[Approve]") {
		t.Fatalf("approval message has no Approve button:\n%s", approval.PlainText())
	}

	// The requester cannot approve their own request; an outsider cannot
	// approve at all. Neither changes anything in Jenkins.
	e.slack.Click(uRequester, approval, actionApprove)
	e.waitEphemeral(uRequester, "someone else must approve")
	e.slack.Click(uOutsider, approval, actionApprove)
	e.waitEphemeral(uOutsider, "Only the people and groups named in APPROVERS")
	if n := j.RevokeCalls(u1); n != 0 {
		t.Fatalf("refused approvals led to %d revoke calls", n)
	}

	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the approval message to show the results", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "3 revoked and verified")
	})
	st, _ := j.UserState("alice")
	if len(st.Tokens) != 0 || st.HasLegacySecret {
		t.Errorf("after approval alice still has %d tokens, legacy secret %v",
			len(st.Tokens), st.HasLegacySecret)
	}
	for _, u := range []string{u1, u2, u3} {
		if n := j.RevokeCalls(u); n != 1 {
			t.Errorf("token %s revoked %d times, want exactly once", u[:8], n)
		}
	}
	e.waitFor("the listing to show per-token results", func() bool {
		return strings.Count(e.refresh(listing).PlainText(), "revoked and verified gone") == 3
	})
	e.waitMessage(chOps, "finished: 3 revoked and verified")
	if strings.Contains(e.refresh(approval).PlainText(), "[Approve]") {
		t.Errorf("a done request still offers Approve")
	}
	e.checkNoSecretsLogged()
}

func TestOutsiderCannotList(t *testing.T) {
	e := newEnv(t, envOptions{})
	before := e.jenkins[0].TotalCalls()
	e.slack.SlashCommand(uOutsider, chOps, "alice")
	e.waitEphemeral(uOutsider, "Only the people and groups named in REQUESTERS")
	if got := e.jenkins[0].TotalCalls(); got != before {
		t.Errorf("an outsider's command reached Jenkins (%d calls)", got-before)
	}
}

func TestTargetCannotRequestOwnOffboarding(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	listing := e.listAlice()
	e.slack.Click(uAlice, listing, actionRevokeAll)
	e.waitEphemeral(uAlice, "your own offboarding")
	if got := e.botMessages(chOps, "Revocation request"); len(got) != 0 {
		t.Errorf("the target opened a request")
	}
}

func TestTargetCannotApproveOwnOffboarding(t *testing.T) {
	e := newEnv(t, envOptions{})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())
	e.slack.Click(uAlice, approval, actionApprove)
	e.waitEphemeral(uAlice, "your own offboarding")
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Errorf("the target's approval revoked a token")
	}
}

func TestDenyWithReason(t *testing.T) {
	e := newEnv(t, envOptions{})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())
	approve := e.keepButton(approval, actionApprove)
	e.slack.Click(uApprover, approval, actionDeny)
	var viewID string
	e.waitFor("the deny dialog", func() bool {
		views := e.slack.Views()
		if len(views) == 0 {
			return false
		}
		viewID = views[len(views)-1]
		return true
	})
	e.slack.ViewSubmission(uApprover, viewID, map[string]map[string]string{
		blockDenyReason: {actionDenyReasonInput: "still needs it for the release <!here>"}})
	e.waitFor("the approval message to say denied", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "denied by")
	})
	text := e.refresh(approval).PlainText()
	if !strings.Contains(text, "still needs it for the release") ||
		strings.Contains(text, "<!here>") || strings.Contains(text, "[Approve]") {
		t.Errorf("denied message is wrong:\n%s", text)
	}
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Errorf("a denied request revoked a token")
	}
	e.clickStale(uApprover2, approve)
	e.waitEphemeral(uApprover2, "already decided")

	// A modal has no response_url: refusals of a second submission, and of
	// a submitter who is no approver, appear beside the approval message.
	e.slack.ViewSubmission(uApprover2, viewID, map[string]map[string]string{
		blockDenyReason: {actionDenyReasonInput: "me too"}})
	e.waitFor("the refusal beside the approval message", func() bool {
		for _, m := range e.slack.Ephemerals(uApprover2) {
			if strings.Contains(m.PlainText(), "already decided") && m.Channel == chOps {
				return len(e.slack.Ephemerals(uApprover2)) == 2
			}
		}
		return false
	})
	e.slack.ViewSubmission(uOutsider, viewID, map[string]map[string]string{
		blockDenyReason: {actionDenyReasonInput: "no"}})
	e.waitEphemeral(uOutsider, "Only the people and groups named in APPROVERS")
}

func TestCancelOnlyByRequester(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())
	e.slack.Click(uApprover, approval, actionCancel)
	e.waitEphemeral(uApprover, "can cancel this request")
	e.slack.Click(uRequester, approval, actionCancel)
	e.waitFor("the approval message to say cancelled", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "cancelled")
	})
}

func TestExpiredRequestLosesButtons(t *testing.T) {
	e := newEnv(t, envOptions{})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())
	approve := e.keepButton(approval, actionApprove)
	e.clock.Advance(25 * time.Hour)
	e.bots[0].sweep(t.Context())
	text := e.refresh(approval).PlainText()
	if !strings.Contains(text, "expired") || strings.Contains(text, "[Approve]") {
		t.Fatalf("expired request message is wrong:\n%s", text)
	}
	e.clickStale(uApprover, approve)
	e.waitEphemeral(uApprover, "expired")
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Errorf("an expired request revoked a token")
	}
}

func TestDryRunRevokesNothing(t *testing.T) {
	e := newEnv(t, envOptions{dryRun: true})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	listing := e.listAlice()
	if !strings.Contains(listing.PlainText(), "dry run") {
		t.Errorf("dry-run listing does not say so:\n%s", listing.PlainText())
	}
	approval := e.requestAll(listing)
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the dry run to finish", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "Dry run: nothing was revoked")
	})
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Errorf("dry run made %d revoke calls", n)
	}
	if st, _ := e.jenkins[0].UserState("alice"); len(st.Tokens) != 1 {
		t.Errorf("dry run removed a token")
	}
}

func TestBrokenControllerShownInline(t *testing.T) {
	e := newEnv(t, envOptions{controllers: 2})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.jenkins[1].SetFault("/scriptText", jenkinstest.Fault{Kind: jenkinstest.FaultStatus500})
	listing := e.listAlice()
	text := listing.PlainText()
	if !strings.Contains(text, "deploy") || !strings.Contains(text, "ci-b") {
		t.Errorf("listing should show ci-a's token and ci-b's problem:\n%s", text)
	}
}

func TestThreeHundredTokens(t *testing.T) {
	e := newEnv(t, envOptions{})
	j := e.jenkins[0]
	for i := range 300 {
		j.AddToken("alice", jenkinstest.TokenSpec{Name: "token " + padInt(i)})
	}
	e.slack.SlashCommand(uRequester, chOps, "alice")
	e.waitFor("every page of the listing", func() bool {
		return len(e.botMessages(chOps, "Revoke")) >= 7
	})
	first := e.botMessages(chOps, "300 tokens")[0]
	approval := e.requestAll(first)
	if !strings.Contains(approval.PlainText(), "300 Jenkins API tokens") {
		t.Fatalf("approval does not cover all 300 tokens:\n%s", approval.PlainText())
	}
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("all 300 revoked", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "300 revoked and verified")
	})
	if st, _ := j.UserState("alice"); len(st.Tokens) != 0 {
		t.Errorf("%d tokens left after revoking all", len(st.Tokens))
	}
}

// TestAuditChannelMirrorsEachEventOnce runs two replicas, both following
// the audit trail, and expects one line per event in the audit channel.
func TestAuditChannelMirrorsEachEventOnce(t *testing.T) {
	e := newEnv(t, envOptions{replicas: 2, audit: true})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the execution to finish", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "1 revoked and verified")
	})
	// created, approved, executing, done
	e.waitFor("four audit lines", func() bool { return len(e.slack.Messages(chAudit)) >= 4 })
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
	var lines []string
	for _, m := range e.slack.Messages(chAudit) {
		lines = append(lines, m.Text)
	}
	if len(lines) != 4 {
		t.Fatalf("audit channel has %d lines, want 4:\n%s", len(lines),
			strings.Join(lines, "\n"))
	}
	for i, want := range []string{"→ pending", "→ approved", "→ executing", "→ done"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("audit line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[3], "1 revoked") {
		t.Errorf("done line lacks the result count: %q", lines[3])
	}
}

// TestRedeliveredCommandHandledOnce delivers one slash command twice, to
// two replicas, as Slack does when an ack is late: one listing results.
func TestRedeliveredCommandHandledOnce(t *testing.T) {
	e := newEnv(t, envOptions{replicas: 2})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	sockets := e.slack.Sockets()
	id := e.slack.SlashCommand(uRequester, chOps, "alice", slacktest.ToSocket(sockets[0]))
	e.slack.Redeliver(id, slacktest.ToSocket(sockets[1]))
	e.waitMessage(chOps, "Jenkins API tokens of")
	time.Sleep(500 * time.Millisecond)
	if n := len(e.botMessages(chOps, "Jenkins API tokens of")); n != 1 {
		t.Errorf("%d listings for one command, want 1", n)
	}
}

// TestApproveClickRedeliveredRevokesOnce sends one approval click to two
// replicas at once: each token is revoked exactly once.
func TestApproveClickRedeliveredRevokesOnce(t *testing.T) {
	e := newEnv(t, envOptions{replicas: 2})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	approval := e.requestAll(e.listAlice())
	approve := e.keepButton(approval, actionApprove)
	sockets := e.slack.Sockets()
	id := e.slack.Click(uApprover, approval, actionApprove, slacktest.ToSocket(sockets[0]))
	e.slack.Redeliver(id, slacktest.ToSocket(sockets[1]))
	e.clickStale(uApprover2, approve)
	e.waitFor("the revocation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "1 revoked and verified")
	})
	time.Sleep(300 * time.Millisecond)
	if n := e.jenkins[0].RevokeCalls(u); n != 1 {
		t.Errorf("token revoked %d times, want exactly once", n)
	}
}

func TestListBySlackMentionAndEmail(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.SlashCommand(uRequester, chOps, "<@"+uAlice+"|alice>")
	m := e.waitMessage(chOps, "Jenkins API tokens of <@"+uAlice+">")
	if !strings.Contains(m.PlainText(), "deploy") {
		t.Errorf("mention listing lacks the token:\n%s", m.PlainText())
	}
	e.slack.SlashCommand(uRequester, chOps, "<mailto:Alice@Example.com|Alice@Example.com>")
	e.waitFor("a second listing", func() bool {
		return len(e.botMessages(chOps, "Jenkins API tokens of")) == 2
	})
	e.slack.SlashCommand(uRequester, chOps, "nobody@example.com")
	e.waitFor("the no-match explanation", func() bool {
		return len(e.botMessages(chOps, "no Jenkins user has the email nobody@example.com")) == 1
	})
}

func TestBadTargetExplained(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.slack.SlashCommand(uRequester, chOps, "<#C123|general>")
	e.waitEphemeral(uRequester, "is a channel or a group")
	e.slack.SlashCommand(uRequester, chOps, "ghost")
	e.waitMessage(chOps, "no Jenkins user with the id ghost")
}

func TestPendingAndAuditCommands(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.SlashCommand(uRequester, chOps, "pending")
	e.waitEphemeral(uRequester, "No request is waiting")
	approval := e.requestAll(e.listAlice())
	e.slack.SlashCommand(uRequester, chOps, "pending")
	e.waitEphemeral(uRequester, "1 request waiting for approval")
	e.slack.Click(uRequester, approval, actionCancel)
	e.waitFor("the cancellation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "cancelled")
	})
	e.slack.SlashCommand(uRequester, chOps, "audit alice")
	m := e.waitEphemeral(uRequester, "Last 2 events about alice")
	if !strings.Contains(m.PlainText(), "pending → cancelled") {
		t.Errorf("audit reply lacks the cancellation:\n%s", m.PlainText())
	}
}

// TestRetryFailedTokens makes one revoke fail, then retries it from the
// message once Jenkins works again.
func TestRetryFailedTokens(t *testing.T) {
	e := newEnv(t, envOptions{})
	j := e.jenkins[0]
	u1, _ := j.AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	j.AddToken("alice", jenkinstest.TokenSpec{Name: "laptop"})
	approval := e.requestAll(e.listAlice())
	revoke := "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/revoke"
	j.SetFault(revoke, jenkinstest.Fault{Kind: jenkinstest.FaultStatus500})
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the failure", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "[Retry failed tokens]")
	})
	j.ClearFaults()
	e.slack.Click(uApprover2, e.refresh(approval), actionRetry)
	e.waitFor("the retry to succeed", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "2 revoked and verified")
	})
	if st, _ := j.UserState("alice"); len(st.Tokens) != 0 {
		t.Errorf("%d tokens left after the retry", len(st.Tokens))
	}
	if n := j.RevokeCalls(u1); n < 1 {
		t.Errorf("token %s never revoked", u1[:8])
	}
}

// TestForgedClicksChangeNothing sends block actions no listing produced.
func TestForgedClicksChangeNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	listing := e.listAlice()
	blockID, value := e.buttonValue(listing, actionRevokeToken)
	forged := strings.Replace(value, u, "00000000-0000-0000-0000-000000000000", 1)
	e.slack.BlockAction(uRequester, chOps, listing.TS, actionRevokeToken, blockID, forged)
	e.waitEphemeral(uRequester, "not part of this listing")
	e.slack.BlockAction(uRequester, chOps, listing.TS, actionRevokeAll, "revoke_all",
		"no-such-listing")
	e.waitEphemeral(uRequester, "too old or unknown")
	e.slack.BlockAction(uApprover, chOps, listing.TS, actionApprove, "decide",
		"no-such-request|hash")
	e.waitEphemeral(uApprover, "cannot find that request")
	if got := e.botMessages(chOps, "Revocation request"); len(got) != 0 {
		t.Errorf("a forged click opened a request")
	}
}
