package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// More people and places of the offboarding tests. chHR is the watched
// channel; otto (uOutsider) works in HR and is not a requester.
const (
	chHR         = "CHR"
	uBob         = "UBOB"
	uCarol       = "UCAROL"
	listingTitle = "Jenkins API tokens of"
)

// newOffboardingEnv is newEnv with a watched HR channel and two more
// people, bob and carol.
func newOffboardingEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	o.offboarding.OffboardingChannels = []string{chHR}
	e := newEnv(t, o)
	e.slack.AddUser(slacktest.User{ID: uBob, Name: "bob", Email: "bob@example.com"})
	e.slack.AddUser(slacktest.User{ID: uCarol, Name: "carol", Email: "carol@example.com"})
	e.slack.AddChannel(slacktest.Channel{ID: chHR, Name: "hr-offboarding", Members: []string{
		e.slack.BotUserID(), uRequester, uApprover, uApprover2, uOutsider, uAlice}})
	return e
}

// lastFrom returns the newest message user posted in channel.
func (e *env) lastFrom(user, channel string) slacktest.Message {
	e.t.Helper()
	msgs := e.slack.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].User == user && msgs[i].BotID == "" {
			return msgs[i]
		}
	}
	e.t.Fatalf("no message from %s in %s", user, channel)
	return slacktest.Message{}
}

// listingsIn returns the listings the bot posted in a thread.
func (e *env) listingsIn(channel, thread string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range e.botMessages(channel, listingTitle) {
		if m.ThreadTS == thread {
			out = append(out, m)
		}
	}
	return out
}

// waitListings waits for n listings in a thread, then leaves room for a
// duplicate to show up, and fails unless exactly n are there.
func (e *env) waitListings(channel, thread string, n int) []slacktest.Message {
	e.t.Helper()
	e.waitFor("listings in the thread", func() bool {
		return len(e.listingsIn(channel, thread)) >= n
	})
	time.Sleep(400 * time.Millisecond)
	got := e.listingsIn(channel, thread)
	if len(got) != n {
		e.t.Fatalf("%d listings in thread %s, want %d", len(got), thread, n)
	}
	return got
}

// injectMessageEvent hands bot a message event for a message already
// stored, with its own event id, as Slack sends next to the app_mention of
// the same message. The fake can only push events for new messages.
func (e *env) injectMessageEvent(b *Bot, m slacktest.Message) {
	e.t.Helper()
	raw, err := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": slacktest.TeamID, "api_app_id": slacktest.AppID,
		"event_id": "EvINJECT" + uuid.NewString()[:8], "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "message", "user": m.User, "text": m.Text,
			"ts": m.TS, "event_ts": m.TS, "channel": m.Channel, "channel_type": "channel"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ev, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err != nil {
		e.t.Fatal(err)
	}
	evt := socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev,
		Request: &socketmode.Request{Type: "events_api", EnvelopeID: uuid.NewString(),
			Payload: raw}}
	b.wg.Add(1)
	go b.work(e.t.Context(), evt, b.onEvent)
}

// TestMentionInThreadFlowStaysInThread runs a whole offboarding from a
// mention in an HR thread: listing, request, the target's refused approval,
// approval and result, all in that thread.
func TestMentionInThreadFlowStaysInThread(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{})
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.MessageEvent(uOutsider, chOps, "Alice's last day is Friday", "")
	parent := e.lastFrom(uOutsider, chOps)
	e.slack.AppMention(uRequester, chOps, "offboard <@"+uAlice+"|alice>", parent.TS)

	first := e.waitListings(chOps, parent.TS, 1)[0]
	if !strings.Contains(first.PlainText(), "deploy") {
		t.Fatalf("listing lacks the token:\n%s", first.PlainText())
	}
	e.slack.Click(uRequester, first, actionRevokeAll)
	approval := e.waitMessage(chOps, "Revocation request")
	if approval.ThreadTS != parent.TS {
		t.Errorf("approval posted in thread %q, want %q", approval.ThreadTS, parent.TS)
	}
	e.slack.Click(uAlice, approval, actionApprove)
	e.waitEphemeral(uAlice, "your own offboarding")
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Fatalf("the target's own approval revoked a token")
	}
	e.slack.Click(uApprover, approval, actionApprove)
	summary := e.waitMessage(chOps, "finished: 1 revoked and verified")
	if summary.ThreadTS != parent.TS {
		t.Errorf("result posted in thread %q, want %q", summary.ThreadTS, parent.TS)
	}
	for _, m := range e.slack.Messages(chOps) {
		if m.BotID != "" && m.ThreadTS != parent.TS {
			t.Errorf("bot message outside the thread: %s", m.PlainText())
		}
	}
}

func TestMentionRefusalsAndHelp(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{})
	before := e.jenkins[0].TotalCalls()
	e.slack.AppMention(uOutsider, chOps, "offboard alice", "")
	e.waitEphemeral(uOutsider, "Only the people and groups named in REQUESTERS")
	if got := e.jenkins[0].TotalCalls(); got != before {
		t.Errorf("an outsider's mention outside the HR channel reached Jenkins")
	}
	e.slack.AppMention(uRequester, chOps, "hello there", "")
	help := e.waitEphemeral(uRequester, "offboard &lt;person&gt;")
	if help.ThreadTS == "" {
		t.Errorf("help was not given in the thread of the mention")
	}
	e.slack.AppMention(uRequester, chOps, "offboard nobody@example.com", "")
	m := e.waitMessage(chOps, "no Jenkins user has the email nobody@example.com")
	if !strings.Contains(m.PlainText(), "offboard &lt;jenkins-id&gt;` in this thread") {
		t.Errorf("no-match listing does not show how to name a Jenkins id:\n%s",
			m.PlainText())
	}
}

// TestWatchedChannelMessage: HR posts in the watched channel; only the
// message with an offboarding word and a named person gets a listing, and
// HR, not being a requester, cannot ask for revocation.
func TestWatchedChannelMessage(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.MessageEvent(uOutsider, chHR, "<@"+uAlice+"> joins us for lunch", "")
	e.slack.MessageEvent(uOutsider, chHR, "Someone is leaving next week", "")
	e.slack.MessageEvent(uOutsider, chHR, "<@"+uAlice+"> is Leaving us; LAST DAY Friday", "")
	msg := e.lastFrom(uOutsider, chHR)
	got := e.waitListings(chHR, msg.TS, 1)
	if n := len(e.botMessages(chHR, listingTitle)); n != 1 {
		t.Errorf("%d listings in the channel, want 1", n)
	}
	e.slack.Click(uOutsider, got[0], actionRevokeAll)
	e.waitEphemeral(uOutsider, "Only the people and groups named in REQUESTERS")
}

func TestWatchedChannelIgnoresBotsAndEdits(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{})
	text := "<@" + uAlice + "> is leaving"
	e.slack.MessageEvent(slacktest.BotUserID, chHR, text, "", slacktest.FromBot(slacktest.BotID))
	e.slack.MessageEvent(uOutsider, chHR, text, "", slacktest.FromBot("BOTHER"))
	e.slack.MessageEvent(uOutsider, chHR, text, "", slacktest.Edited())
	e.slack.MessageEvent(uOutsider, chHR, text, "", slacktest.WithSubtype("message_changed"))
	e.slack.MessageEvent(uOutsider, chHR, text, "", slacktest.WithSubtype("channel_join"))
	e.slack.MessageEvent(uOutsider, chOps, text, "") // not a watched channel
	e.slack.MessageEvent(uOutsider, chHR, text, "", slacktest.WithSubtype("thread_broadcast"))
	real := e.lastFrom(uOutsider, chHR)
	e.waitListings(chHR, real.TS, 1)
	if n := len(e.botMessages(chHR, listingTitle)) + len(e.botMessages(chOps, listingTitle)); n != 1 {
		t.Errorf("%d listings, want only the one for the thread broadcast", n)
	}
}

// TestOneReplyPerMessage delivers one message several ways; each gives
// exactly one listing.
func TestOneReplyPerMessage(t *testing.T) {
	text := "<@" + uAlice + "> is leaving, please offboard"
	for _, tc := range []struct {
		name     string
		replicas int
		deliver  func(e *env)
	}{
		{"retried event", 1, func(e *env) {
			id := e.slack.MessageEvent(uOutsider, chHR, text, "")
			e.slack.Redeliver(id)
			e.slack.Redeliver(id)
		}},
		{"two replicas", 2, func(e *env) {
			s := e.slack.Sockets()
			id := e.slack.MessageEvent(uOutsider, chHR, text, "", slacktest.ToSocket(s[0]))
			e.slack.Redeliver(id, slacktest.ToSocket(s[1]))
		}},
		{"app_mention and message", 2, func(e *env) {
			e.slack.AppMention(uOutsider, chHR, "offboard <@"+uAlice+">", "",
				slacktest.ToSocket(e.slack.Sockets()[0]))
			e.injectMessageEvent(e.bots[1], e.lastFrom(uOutsider, chHR))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOffboardingEnv(t, envOptions{replicas: tc.replicas})
			e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
			tc.deliver(e)
			e.waitListings(chHR, e.lastFrom(uOutsider, chHR).TS, 1)
		})
	}
}

func TestSeveralPeopleInOneMessage(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{})
	j := e.jenkins[0]
	j.AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	j.AddUser(jenkinstest.User{ID: "bob", Email: "bob@example.com"})
	j.AddToken("bob", jenkinstest.TokenSpec{Name: "nightly"})
	e.slack.MessageEvent(uOutsider, chHR, "Departures: <@"+uAlice+">, "+
		"<mailto:bob@example.com|bob@example.com> and <@"+uAlice+">.", "")
	msg := e.lastFrom(uOutsider, chHR)
	got := e.waitListings(chHR, msg.TS, 2)
	thread := e.slack.Thread(chHR, msg.TS)
	var order []string
	for _, m := range thread[1:] {
		order = append(order, strings.SplitN(m.PlainText(), ":", 2)[0])
	}
	if len(thread) < 4 || !strings.Contains(thread[1].Text, "Looking up 2 people") {
		t.Fatalf("thread does not open with the group header: %q", order)
	}
	if !strings.Contains(got[0].PlainText(), "deploy") ||
		!strings.Contains(got[1].PlainText(), "nightly") {
		t.Errorf("listings are not alice's then bob's:\n%s\n%s", got[0].PlainText(),
			got[1].PlainText())
	}
}

// choiceButton returns the action id of the candidate button for id.
func (e *env) choiceButton(m slacktest.Message, id string) string {
	e.t.Helper()
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(e.refresh(m).Blocks, &blocks); err != nil {
		e.t.Fatal(err)
	}
	for _, b := range blocks {
		for _, el := range b.Elements {
			if el.Text.Text == id {
				return el.ActionID
			}
		}
	}
	e.t.Fatalf("no button for %s in:\n%s", id, m.PlainText())
	return ""
}

func TestAmbiguousIdentityAnsweredByButton(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{})
	j := e.jenkins[0]
	j.AddUser(jenkinstest.User{ID: "carol", Email: "carol@example.com"})
	j.AddUser(jenkinstest.User{ID: "carol-admin", Email: "Carol@example.com"})
	j.AddToken("carol-admin", jenkinstest.TokenSpec{Name: "admin-cli"})
	e.slack.AppMention(uRequester, chOps, "offboard <@"+uCarol+">", "")
	thread := e.lastFrom(uRequester, chOps).TS

	first := e.waitListings(chOps, thread, 1)[0]
	if !strings.Contains(first.PlainText(), "2 Jenkins users have the email") {
		t.Errorf("first listing does not say the email is ambiguous:\n%s", first.PlainText())
	}
	ask := e.waitMessage(chOps, "Which one is")
	if ask.ThreadTS != thread {
		t.Errorf("question posted outside the thread")
	}
	blockID, value := e.buttonValue(ask, e.choiceButton(ask, "carol"))
	id, _, _ := strings.Cut(value, "|")
	e.slack.BlockAction(uRequester, chOps, ask.TS, actionChoosePrefix+"7", blockID, id+"|7")
	e.waitEphemeral(uRequester, "not one of the offered")
	e.slack.Click(uOutsider, ask, e.choiceButton(ask, "carol-admin"))
	e.waitEphemeral(uOutsider, "Only the people and groups named in REQUESTERS")

	stale := e.keepButton(ask, e.choiceButton(ask, "carol"))
	e.slack.Click(uRequester, ask, e.choiceButton(ask, "carol-admin"))
	got := e.waitListings(chOps, thread, 2)[1]
	text := got.PlainText()
	if !strings.Contains(text, "carol-admin") || !strings.Contains(text, "admin-cli") ||
		!strings.Contains(text, "<@"+uCarol+">") {
		t.Errorf("chosen listing is wrong:\n%s", text)
	}
	if !strings.Contains(e.refresh(ask).PlainText(), "chose the Jenkins user `carol-admin`") {
		t.Errorf("question not updated:\n%s", e.refresh(ask).PlainText())
	}
	e.clickStale(uApprover, stale)
	e.waitEphemeral(uApprover, "already answered")
	// The chosen listing knows carol's Slack account: she cannot ask herself.
	e.slack.AddUserGroup(gApprovers, uRequester, uApprover, uCarol)
	e.slack.Click(uRequester, got, actionRevokeAll)
	approval := e.waitMessage(chOps, "Revocation request")
	e.slack.Click(uCarol, approval, actionApprove)
	e.waitEphemeral(uCarol, "your own offboarding")
}

func TestJenkinsIDFromEmailLocalPart(t *testing.T) {
	for _, tc := range []struct {
		name, rule, who string
		want            []string
	}{
		{"rule matches an id without email", idFromLocalPart, "dave@example.com",
			[]string{"Jenkins user `dave`", "dave-cli", "comes from the email's local part"}},
		{"rule refuses an id with another email", idFromLocalPart, "erin@example.com",
			[]string{"has another email (erin@other.example)"}},
		{"rule refuses a missing id", idFromLocalPart, "frank@example.com",
			[]string{"there is no Jenkins user frank"}},
		{"rule off", "", "dave@example.com",
			[]string{"no Jenkins user has the email dave@example.com; name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := envOptions{}
			o.offboarding.JenkinsIDFromEmail = tc.rule
			e := newOffboardingEnv(t, o)
			j := e.jenkins[0]
			j.AddUser(jenkinstest.User{ID: "dave"})
			j.AddToken("dave", jenkinstest.TokenSpec{Name: "dave-cli"})
			j.AddUser(jenkinstest.User{ID: "erin", Email: "erin@other.example"})
			e.slack.AppMention(uRequester, chOps, "offboard "+tc.who, "")
			got := e.waitListings(chOps, e.lastFrom(uRequester, chOps).TS, 1)[0]
			for _, w := range tc.want {
				if !strings.Contains(got.PlainText(), w) {
					t.Errorf("listing lacks %q:\n%s", w, got.PlainText())
				}
			}
		})
	}
}

func TestMessageShortcut(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.MessageEvent(uOutsider, chOps, "Farewell <@"+uAlice+">!", "")
	named := e.lastFrom(uOutsider, chOps)
	e.slack.MessageEvent(uOutsider, chOps, "Cake in the kitchen", "")
	nobody := e.lastFrom(uOutsider, chOps)

	e.slack.MessageShortcut(uRequester, named, "some_other_shortcut")
	e.slack.MessageShortcut(uOutsider, named, callbackMessageShortcut)
	e.waitEphemeral(uOutsider, "Only the people and groups named in REQUESTERS")
	e.slack.MessageShortcut(uRequester, nobody, callbackMessageShortcut)
	e.waitEphemeral(uRequester, "names nobody I can look up")
	e.slack.MessageShortcut(uRequester, named, callbackMessageShortcut)
	got := e.waitListings(chOps, named.TS, 1)[0]
	if !strings.Contains(got.PlainText(), "deploy") {
		t.Errorf("shortcut listing lacks the token:\n%s", got.PlainText())
	}
	if n := len(e.botMessages(chOps, listingTitle)); n != 1 {
		t.Errorf("%d listings, want 1: only the jenkins_tokens shortcut lists", n)
	}
}

func TestDeactivation(t *testing.T) {
	e := newOffboardingEnv(t, envOptions{replicas: 2})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	s := e.slack.Sockets()

	e.slack.SetUserDeleted(uOutsider, true)
	e.slack.UserChange(uOutsider)
	e.slack.SetUserDeleted(uAlice, true)
	e.slack.UserChange(uAlice, slacktest.ToSocket(s[0]))
	e.slack.UserChange(uAlice, slacktest.ToSocket(s[1]))
	e.slack.UserChange(uAlice, slacktest.ToSocket(s[0]))
	intro := e.waitMessage(chHR, "was deactivated")
	e.waitListings(chHR, intro.TS, 1)
	if n := len(e.botMessages(chHR, "was deactivated")); n != 1 {
		t.Fatalf("%d deactivation posts, want 1", n)
	}
	if !strings.Contains(intro.Text, "<@"+uAlice+">") || !strings.Contains(intro.Text,
		"1 API token") {
		t.Errorf("deactivation post is wrong: %s", intro.Text)
	}
	e.waitFor("the debug line about otto", func() bool {
		return strings.Contains(e.logs.String(), "deactivated user has no jenkins tokens")
	})
	if got := e.botMessages(chHR, "<@"+uOutsider+">"); len(got) != 0 {
		t.Errorf("a deactivation without tokens was posted: %s", got[0].Text)
	}
	if got := e.botMessages(chHR, "Revocation request"); len(got) != 0 {
		t.Errorf("a request was opened without AUTO_REQUEST_ON_DEACTIVATION")
	}

	// Reactivated and deactivated again: handled again.
	e.slack.SetUserDeleted(uAlice, false)
	e.slack.UserChange(uAlice)
	e.waitFor("the reactivation to be seen", func() bool {
		return e.rdb.Exists(t.Context(), e.bots[0].deactivationKey(uAlice)).Val() == 0
	})
	e.slack.SetUserDeleted(uAlice, true)
	e.slack.UserChange(uAlice)
	e.waitFor("a second deactivation post", func() bool {
		return len(e.botMessages(chHR, "was deactivated")) == 2
	})
}

func TestDeactivationAutoRequest(t *testing.T) {
	o := envOptions{}
	o.offboarding.AutoRequestOnDeactivation = true
	e := newOffboardingEnv(t, o)
	u, _ := e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	e.slack.SetUserDeleted(uAlice, true)
	e.slack.UserChange(uAlice)
	intro := e.waitMessage(chHR, "was deactivated")
	approval := e.waitMessage(chHR, "Revocation request")
	if diff := cmp.Diff(intro.TS, approval.ThreadTS); diff != "" {
		t.Errorf("approval thread (-want +got):\n%s", diff)
	}
	if !strings.Contains(approval.PlainText(), "[Approve]") {
		t.Fatalf("bot request has no Approve button:\n%s", approval.PlainText())
	}
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Fatalf("the bot revoked before anyone approved")
	}
	e.slack.Click(uAlice, approval, actionApprove)
	e.waitEphemeral(uAlice, "your own offboarding")
	// No person asked, so two approvers must agree.
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitFor("the first approval", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "approved by <@"+uApprover+">")
	})
	if n := e.jenkins[0].RevokeCalls(u); n != 0 {
		t.Fatalf("one approval of a bot request revoked a token")
	}
	e.slack.Click(uApprover2, e.refresh(approval), actionApprove)
	e.waitFor("the revocation", func() bool {
		return strings.Contains(e.refresh(approval).PlainText(), "1 revoked and verified")
	})
	if n := e.jenkins[0].RevokeCalls(u); n != 1 {
		t.Errorf("token revoked %d times, want once", n)
	}
}

func TestHasKeyword(t *testing.T) {
	t.Parallel()
	kw := defaultOffboardingKeywords()
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Bob is LEAVING", true},
		{"offboarding for bob", true},
		{"his last  day", false},
		{"her last day is Friday", true},
		{"reoffboard", false},
		{"departure:&amp;termination", true},
		{"lunch?", false},
	} {
		if got := hasKeyword(tc.text, kw); got != tc.want {
			t.Errorf("hasKeyword(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestCommandTargets(t *testing.T) {
	t.Parallel()
	got := commandTargets(strings.Fields("<@UA>, bob.smith and <mailto:c@x.io|c@x.io>."))
	want := []string{"<@UA>", "bob.smith", "<mailto:c@x.io|c@x.io>"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commandTargets (-want +got):\n%s", diff)
	}
}
