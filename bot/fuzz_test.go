package bot

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// Listings the fuzz targets store: alice's on two controllers (one of them
// broken), and bob's, whose token alice's listing never showed.
const (
	fuzzListing    = "6f1c2a7e-3b7d-4c55-9a8e-0d2f5b1e9c41"
	fuzzOther      = "0b8e4d6a-7f3c-4e21-8d90-5a6c1f2e3b47"
	fuzzTokenA     = "1a6e0c4b-2d3f-4e5a-8b7c-9d0e1f2a3b4c"
	fuzzTokenB     = "2b7f1d5c-3e4a-4f6b-9c8d-0e1f2a3b4c5d"
	fuzzTokenOther = "3c8a2e6d-4f5b-4a7c-8d9e-1f2a3b4c5d6e"
)

func fuzzSnapshots() []*snapshot {
	return []*snapshot{{
		ID: fuzzListing, Target: "alice", Channel: chOps,
		Controllers: []controllerSnapshot{
			{Controller: "ci-a", JenkinsUser: "alice", Tokens: []jenkins.Token{
				{UUID: fuzzTokenA, Name: "deploy"}, {UUID: fuzzTokenB, Name: "", Legacy: true}}},
			{Controller: "ci-b", Problem: "Jenkins answered 500"},
			{Controller: "ci-c", JenkinsUser: "alice.x", Tokens: []jenkins.Token{
				{UUID: fuzzTokenB, Name: "same uuid, other controller"}}},
		},
	}, {
		ID: fuzzOther, Target: "bob", Channel: chOps,
		Controllers: []controllerSnapshot{{Controller: "ci-a", JenkinsUser: "bob",
			Tokens: []jenkins.Token{{UUID: fuzzTokenOther, Name: "bob's"}}}},
	}}
}

// fuzzBot is a Bot with only what planFromClick uses: listings stored in an
// embedded Redis.
func fuzzBot(f *testing.F) (*Bot, map[string]*snapshot) {
	f.Helper()
	mr := miniredis.RunT(f)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	f.Cleanup(func() { _ = rdb.Close() })
	b := &Bot{snaps: &snapshots{rdb: rdb, prefix: "fuzz:", ttl: 0}}
	byID := map[string]*snapshot{}
	for _, s := range fuzzSnapshots() {
		if err := b.snaps.save(f.Context(), s); err != nil {
			f.Fatal(err)
		}
		byID[s.ID] = s
	}
	return b, byID
}

// shownValues are the values of the Revoke buttons a listing carries.
func shownValues(s *snapshot) map[string]bool {
	out := map[string]bool{}
	for ci, c := range s.Controllers {
		for _, t := range c.Tokens {
			out[s.ID+"|"+itoa(ci)+"|"+t.UUID] = true
		}
	}
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

// FuzzRevokeValue clicks revoke buttons with arbitrary action ids and
// values against stored listings: a value is accepted only when it is one
// a listing's button carries, and the plan then holds exactly the tokens
// that listing showed.
func FuzzRevokeValue(f *testing.F) {
	b, byID := fuzzBot(f)
	for _, v := range []string{fuzzListing, fuzzListing + "|0|" + fuzzTokenA,
		fuzzListing + "|2|" + fuzzTokenB, fuzzListing + "|1|" + fuzzTokenA,
		fuzzListing + "|0|" + fuzzTokenOther, fuzzListing + "|00|" + fuzzTokenA,
		fuzzListing + "|+0|" + fuzzTokenA, fuzzListing + "|-1|" + fuzzTokenA,
		fuzzListing + "|0|" + fuzzTokenA + "|x", fuzzListing + "|0", "|0|" + fuzzTokenA,
		strings.ToUpper(fuzzListing), "{" + fuzzListing + "}", "urn:uuid:" + fuzzListing,
		fuzzListing + "|0|", "*", "", "no-such-listing", fuzzOther + "|0|" + fuzzTokenA,
	} {
		for _, id := range []string{actionRevokeToken, actionRevokeAll, actionRevokeAllEnd} {
			f.Add(id, v)
		}
	}
	f.Fuzz(func(t *testing.T, actionID, value string) {
		a := &slack.BlockAction{ActionID: actionID, Value: value}
		snap, plan, err := b.planFromClick(t.Context(), a)
		if err != nil {
			if !errors.Is(err, errListingGone) && !errors.Is(err, errNotShown) {
				t.Fatalf("value %q: unexpected refusal %v", value, err)
			}
			if snap != nil || planSize(plan) != 0 {
				t.Fatalf("value %q refused but planned %d tokens", value, planSize(plan))
			}
			return
		}
		stored := byID[snap.ID]
		if stored == nil {
			t.Fatalf("value %q planned from unknown listing %q", value, snap.ID)
		}
		if actionID == actionRevokeToken {
			checkOneShown(t, value, stored, plan)
			return
		}
		want := planAll(stored)
		want.EndSessions = actionID == actionRevokeAllEnd
		if value != stored.ID {
			t.Fatalf("revoke-all value %q accepted; only %q is issued", value, stored.ID)
		}
		if d := cmp.Diff(want, plan); d != "" {
			t.Fatalf("revoke-all plan for %q (-want +got):\n%s", value, d)
		}
	})
}

func checkOneShown(t *testing.T, value string, s *snapshot, plan approvals.Plan) {
	t.Helper()
	if !shownValues(s)[value] {
		t.Fatalf("value %q accepted; no button of listing %s carries it", value, s.ID)
	}
	if planSize(plan) != 1 || len(plan.Controllers) != 1 || plan.EndSessions {
		t.Fatalf("value %q planned %+v, want one token", value, plan)
	}
	parts := strings.Split(value, "|")
	c := s.Controllers[parts[1][0]-'0']
	got := plan.Controllers[0]
	if got.Controller != c.Controller || got.JenkinsUser != c.JenkinsUser ||
		got.Tokens[0].UUID != parts[2] {
		t.Fatalf("value %q planned %+v on the wrong controller or token", value, got)
	}
}

// FuzzApproveValue splits Approve values: every value approveValue makes
// is read back exactly, and anything accepted is "<id>|<hash>" with
// neither part empty nor holding another "|".
func FuzzApproveValue(f *testing.F) {
	for _, v := range []string{
		approveValue(&approvals.Request{ID: fuzzListing, PlanHash: strings.Repeat("ab", 32)}),
		"no-such-request|hash", "|", "id|", "|hash", "id", "", "id|hash|more", "a|b",
		"id||hash", "\x00|\x00", "é|ü",
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, hash, ok := parseApproveValue(v)
		wellFormed := strings.Count(v, "|") == 1 && !strings.HasPrefix(v, "|") &&
			!strings.HasSuffix(v, "|")
		if ok != wellFormed {
			t.Fatalf("parseApproveValue(%q) ok = %v, want %v", v, ok, wellFormed)
		}
		if !ok {
			if id != "" || hash != "" {
				t.Fatalf("refused %q but returned %q, %q", v, id, hash)
			}
			return
		}
		if id+"|"+hash != v || strings.Contains(id, "|") {
			t.Fatalf("parseApproveValue(%q) = %q, %q", v, id, hash)
		}
		if got := approveValue(&approvals.Request{ID: id, PlanHash: hash}); got != v {
			t.Fatalf("approveValue does not rebuild %q: %q", v, got)
		}
	})
}

// interactionSeeds are interactive payloads as Slack sends them, and
// hostile variants: other workspaces, null and missing parts, odd types.
func interactionSeeds() []string {
	own := `"team":{"id":"` + slacktest.TeamID + `","domain":"fake"}`
	user := `"user":{"id":"UREQ","name":"rita","team_id":"` + slacktest.TeamID + `"}`
	click := func(actionID, value string) string {
		return `{"type":"block_actions",` + own + `,` + user + `,"api_app_id":"A0FAKE",` +
			`"trigger_id":"1.2.3","response_url":"https://hooks.slack.com/x",` +
			`"container":{"type":"message","message_ts":"1.1","channel_id":"COPS"},` +
			`"channel":{"id":"COPS","name":"ops"},"state":{"values":{}},` +
			`"actions":[{"action_id":"` + actionID + `","block_id":"b","value":"` + value +
			`","type":"button","action_ts":"1.2"}]}`
	}
	submit := func(reason string) string {
		return `{"type":"view_submission",` + own + `,` + user + `,"view":{"id":"V1",` +
			`"callback_id":"deny_reason","private_metadata":"` + fuzzListing + `",` +
			`"state":{"values":{"reason":{"reason_input":{"type":"plain_text_input",` +
			`"value":"` + reason + `"}}}}}}`
	}
	return []string{
		click(actionRevokeToken, fuzzListing+"|0|"+fuzzTokenA),
		click(actionRevokeAll, fuzzListing),
		click(actionApprove, fuzzListing+"|"+strings.Repeat("ab", 32)),
		click(actionDeny, fuzzListing), click(actionCancel, fuzzListing),
		click(actionRetry, fuzzListing), click(actionChoosePrefix+"1", fuzzListing+"|1"),
		click("other", "x"),
		submit("still needed"), submit("  "), submit(""),
		strings.Replace(click(actionApprove, "x|y"), `"id":"T0FAKE"`, `"id":"T0OTHER"`, 1),
		strings.Replace(click(actionApprove, "x|y"), `"team_id":"T0FAKE"`,
			`"team_id":"T0OTHER"`, 1),
		strings.Replace(submit(""), `"id":"T0FAKE"`, `"id":"T0OTHER"`, 1),
		`{"type":"message_action","callback_id":"jenkins_tokens",` + own +
			`,"user":{"id":"UREQ","name":"rita"},"message":{"text":"bye <@UALICE>"}}`,
		`{"type":"block_actions",` + own + `,` + user + `,"actions":[null]}`,
		`{"type":"block_actions",` + own + `,` + user + `,"actions":[]}`,
		`{"type":"block_actions","team":null,"user":null,"actions":null}`,
		`{"type":"view_submission",` + own + `,"view":{"callback_id":"deny_reason",` +
			`"state":null}}`,
		`{"type":"view_submission",` + own + `,"view":{"callback_id":"deny_reason",` +
			`"state":{"values":{"reason":null}}}}`,
		`{"type":7}`, `[]`, `null`, `{}`, `{"actions":"x"}`, `{"type":"block_actions",` +
			`"actions":[{"action_id":1}]}`,
	}
}

// FuzzInteractionPayload reads arbitrary interactive payloads as slack-go
// does, then runs everything the bot does before its first Slack or Redis
// call: the ack payload, the delivery key, and the workspace check and
// dispatch decision.
func FuzzInteractionPayload(f *testing.F) {
	for _, s := range interactionSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var cb slack.InteractionCallback
		if err := json.Unmarshal(raw, &cb); err != nil {
			return // socketmode drops what it cannot read
		}
		evt := socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb,
			Request: &socketmode.Request{Type: "interactive", EnvelopeID: "E1",
				Payload: raw}}
		checkAck(t, cb, ackPayload(evt))
		if k := deliveryKey(evt); k == "" {
			t.Fatal("empty delivery key")
		}
		if _, err := readInteraction("", cb); !errors.Is(err, errOtherWorkspace) {
			t.Fatal("a bot that does not know its workspace accepted a payload")
		}
		s, err := readInteraction(slacktest.TeamID, cb)
		checkWorkspaceDecision(t, cb, s, err)
		if err == nil {
			checkStep(t, cb, s)
		}
	})
}

func checkAck(t *testing.T, cb slack.InteractionCallback, p any) {
	t.Helper()
	wantErrors := cb.Type == slack.InteractionTypeViewSubmission &&
		cb.View.CallbackID == callbackDenyReason && strings.TrimSpace(denyReason(cb)) == ""
	if (p != nil) != wantErrors || (p != nil && !isViewError(p)) {
		t.Fatalf("ack payload %#v for type %q callback %q", p, cb.Type, cb.View.CallbackID)
	}
	if b, err := json.Marshal(p); err != nil || len(b) > 1000 {
		t.Fatalf("ack payload does not encode small: %v, %d bytes", err, len(b))
	}
}

func checkWorkspaceDecision(t *testing.T, cb slack.InteractionCallback, s step, err error) {
	t.Helper()
	ours := cb.Team.ID == slacktest.TeamID &&
		(cb.User.TeamID == "" || cb.User.TeamID == slacktest.TeamID)
	if ours && err != nil {
		t.Fatalf("own workspace refused: %v", err)
	}
	if !ours && (!errors.Is(err, errOtherWorkspace) || s != (step{})) {
		t.Fatalf("team %q, user team %q accepted as step %+v", cb.Team.ID, cb.User.TeamID, s)
	}
}

func checkStep(t *testing.T, cb slack.InteractionCallback, s step) {
	t.Helper()
	switch s.kind {
	case stepDenySubmitted:
		if cb.Type != slack.InteractionTypeViewSubmission ||
			cb.View.CallbackID != callbackDenyReason {
			t.Fatalf("deny submission read from type %q callback %q", cb.Type,
				cb.View.CallbackID)
		}
	case stepShortcut:
		if cb.Type != slack.InteractionTypeMessageAction {
			t.Fatalf("shortcut read from type %q", cb.Type)
		}
	case stepUnknown:
	default:
		acts := cb.ActionCallback.BlockActions
		if cb.Type != slack.InteractionTypeBlockActions || s.action == nil ||
			len(acts) == 0 || s.action != acts[0] || actionKind(s.action) != s.kind {
			t.Fatalf("step %+v not read from the payload's first action", s)
		}
	}
}
