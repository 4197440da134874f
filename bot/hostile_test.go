package bot

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

const otherTeam = "T0OTHER"

// crafted is a block_actions payload the fake Slack cannot send: one whose
// team or user team the test chooses.
type crafted struct {
	team, userTeam, user   string
	actionID, value, msgTS string
}

// deliver hands the payload to a running replica exactly as the Socket
// Mode loop would after the ack: slack-go's decoding, then the replica's
// worker (delivery dedup, then the dispatcher). It returns when the
// handler has.
func (e *env) deliver(b *Bot, c crafted) {
	e.t.Helper()
	payload := map[string]any{
		"type": "block_actions", "team": map[string]any{"id": c.team, "domain": "x"},
		"user":       map[string]any{"id": c.user, "name": c.user, "team_id": c.userTeam},
		"api_app_id": slacktest.AppID, "trigger_id": uuid.NewString(),
		"container": map[string]any{"type": "message", "message_ts": c.msgTS,
			"channel_id": chOps},
		"channel": map[string]any{"id": chOps, "name": "ops"},
		"actions": []any{map[string]any{"action_id": c.actionID, "block_id": "b",
			"value": c.value, "type": "button", "action_ts": "1.1"}},
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal(raw, &cb); err != nil {
		e.t.Fatal(err)
	}
	evt := socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb,
		Request: &socketmode.Request{Type: "interactive", EnvelopeID: uuid.NewString(),
			Payload: raw}}
	b.wg.Add(1)
	b.work(e.t.Context(), evt, b.onInteractive)
}

// slackCallsBut counts the Web API calls other than auth.test.
func (e *env) slackCallsBut() int {
	n := 0
	for _, c := range e.slack.Calls("") {
		if c.Method != "auth.test" {
			n++
		}
	}
	return n
}

// TestOtherWorkspaceChangesNothing clicks Revoke all and Approve from
// another workspace, as the requester and an approver would: no request is
// created or approved, and neither Slack nor Jenkins hears of it. The same
// payloads from the bot's own workspace do work, so the workspace is what
// stops them.
func TestOtherWorkspaceChangesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	j := e.jenkins[0]
	u, _ := j.AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	listing := e.listAlice()
	_, all := e.buttonValue(listing, actionRevokeAll)
	foreign := []struct{ name, team, userTeam string }{
		{"team", otherTeam, slacktest.TeamID},
		{"user team", slacktest.TeamID, otherTeam},
		{"no team", "", slacktest.TeamID},
		{"both", otherTeam, otherTeam},
	}
	b := e.bots[0]
	for _, f := range foreign {
		slackBefore, jenkinsBefore := e.slackCallsBut(), j.TotalCalls()
		e.deliver(b, crafted{team: f.team, userTeam: f.userTeam, user: uRequester,
			actionID: actionRevokeAll, value: all, msgTS: listing.TS})
		e.checkUntouched(f.name+" revoke all", slackBefore, jenkinsBefore, 0)
	}

	e.deliver(b, crafted{team: slacktest.TeamID, userTeam: slacktest.TeamID,
		user: uRequester, actionID: actionRevokeAll, value: all, msgTS: listing.TS})
	approval := e.waitMessage(chOps, "Revocation request")
	_, approve := e.buttonValue(approval, actionApprove)
	for _, f := range foreign {
		slackBefore, jenkinsBefore := e.slackCallsBut(), j.TotalCalls()
		e.deliver(b, crafted{team: f.team, userTeam: f.userTeam, user: uApprover,
			actionID: actionApprove, value: approve, msgTS: approval.TS})
		e.checkUntouched(f.name+" approve", slackBefore, jenkinsBefore, 1)
	}
	if n := j.RevokeCalls(u); n != 0 {
		t.Fatalf("clicks from another workspace revoked the token %d times", n)
	}

	e.deliver(b, crafted{team: slacktest.TeamID, userTeam: slacktest.TeamID,
		user: uApprover, actionID: actionApprove, value: approve, msgTS: approval.TS})
	e.waitFor("the own-workspace approval to revoke", func() bool {
		return j.RevokeCalls(u) == 1
	})
}

// checkUntouched fails when a refused payload reached Slack or Jenkins, or
// changed the number of pending requests from want.
func (e *env) checkUntouched(what string, slackBefore, jenkinsBefore, want int) {
	e.t.Helper()
	if n := e.slackCallsBut() - slackBefore; n != 0 {
		e.t.Errorf("%s: %d Slack calls for a refused payload", what, n)
	}
	if n := e.jenkins[0].TotalCalls() - jenkinsBefore; n != 0 {
		e.t.Errorf("%s: %d Jenkins calls for a refused payload", what, n)
	}
	reqs, err := e.store.Pending(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(reqs) != want {
		e.t.Errorf("%s: %d pending requests, want %d", what, len(reqs), want)
	}
	for _, r := range reqs {
		if len(r.Approvals) != 0 {
			e.t.Errorf("%s: request %s has approvals %v", what, r.ID, r.Approvals)
		}
	}
}

// TestSlashCommandWorkspaceCheck checks the decision slash commands are to
// use: only the bot's own team passes.
func TestSlashCommandWorkspaceCheck(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.bots[0]
	for _, tc := range []struct {
		team, userTeam string
		want           bool
	}{
		{slacktest.TeamID, "", true},
		{slacktest.TeamID, slacktest.TeamID, true},
		{otherTeam, "", false},
		{slacktest.TeamID, otherTeam, false},
		{"", "", false},
		{strings.ToLower(slacktest.TeamID), "", false},
	} {
		if got := b.fromOwnWorkspace(t.Context(), uRequester, tc.team, tc.userTeam); got != tc.want {
			t.Errorf("fromOwnWorkspace(%q, %q) = %v, want %v", tc.team, tc.userTeam, got,
				tc.want)
		}
	}
}

// TestForgedValuesChangeNothing sends clicks whose values no button
// carried, through the fake Slack: values naming tokens of another
// listing, another controller, malformed indexes, unknown requests, and a
// real request with a wrong plan hash. Each is refused in words; no
// request is created or decided and nothing is revoked.
func TestForgedValuesChangeNothing(t *testing.T) {
	e := newEnv(t, envOptions{controllers: 2})
	ua, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.jenkins[0].AddUser(jenkinstest.User{ID: "bob"})
	ub, _ := e.jenkins[0].AddToken("bob", jenkinstest.TokenSpec{Name: "bob's"})
	e.slack.SlashCommand(uRequester, chOps, "bob")
	bobListing := e.waitMessage(chOps, "Jenkins API tokens of `bob`")
	_, bobValue := e.buttonValue(bobListing, actionRevokeToken)
	bobID, _, _ := strings.Cut(bobValue, "|")
	e.slack.SlashCommand(uRequester, chOps, "alice")
	listing := e.waitMessage(chOps, "Jenkins API tokens of <@"+uAlice+">")
	_, value := e.buttonValue(listing, actionRevokeToken)
	id, _, _ := strings.Cut(value, "|")
	approval := e.requestAll(listing)
	_, approve := e.buttonValue(approval, actionApprove)
	reqID, _, _ := strings.Cut(approve, "|")

	notShown, gone := "not part of this listing", "too old or unknown"
	missing := uuid.NewString()
	for _, tc := range []struct{ user, actionID, value, want string }{
		{uRequester, actionRevokeToken, id + "|0|" + ub, notShown},
		{uRequester, actionRevokeToken, bobID + "|0|" + ua, notShown},
		{uRequester, actionRevokeToken, id + "|1|" + ua, notShown},
		{uRequester, actionRevokeToken, id + "|00|" + ua, notShown},
		{uRequester, actionRevokeToken, id + "|+0|" + ua, notShown},
		{uRequester, actionRevokeToken, value + "|" + ub, notShown},
		{uRequester, actionRevokeAll, value, notShown},
		{uRequester, actionRevokeAll, strings.ToUpper(id), gone},
		{uRequester, actionRevokeAll, "*", gone},
		{uApprover, actionApprove, missing + "|" + strings.Repeat("0", 64),
			"cannot find that request"},
		{uApprover, actionApprove, reqID + "|" + strings.Repeat("0", 64), "changed since"},
		{uApprover, actionApprove, reqID, "not one I made"},
		{uApprover, actionApprove, reqID + "|", "not one I made"},
		{uRequester, actionCancel, missing, "cannot find that request"},
		{uApprover, actionRetry, missing, "cannot find that request"},
	} {
		before := countEphemerals(e, tc.user, tc.want)
		e.slack.BlockAction(tc.user, chOps, listing.TS, tc.actionID, "b", tc.value)
		e.waitFor("the refusal of "+tc.value, func() bool {
			return countEphemerals(e, tc.user, tc.want) > before
		})
	}
	e.checkOnlyRequest(reqID, ua, ub)
}

func countEphemerals(e *env, user, s string) int {
	n := 0
	for _, m := range e.slack.Ephemerals(user) {
		if strings.Contains(m.PlainText(), s) {
			n++
		}
	}
	return n
}

// checkOnlyRequest fails unless the one request is still pending without
// approvals and no token was revoked.
func (e *env) checkOnlyRequest(id string, tokens ...string) {
	e.t.Helper()
	reqs, err := e.store.Pending(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].ID != id || reqs[0].State != approvals.Pending ||
		len(reqs[0].Approvals) != 0 {
		e.t.Errorf("forged clicks changed the requests: %+v", reqs)
	}
	for _, u := range tokens {
		if n := e.jenkins[0].RevokeCalls(u); n != 0 {
			e.t.Errorf("forged clicks revoked token %s", u[:8])
		}
	}
}
