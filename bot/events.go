package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// onEvent handles Events API envelopes: mentions of the bot, messages in
// watched channels and changed Slack users.
func (b *Bot) onEvent(ctx context.Context, evt socketmode.Event) {
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		b.onMention(ctx, e)
	case *slackevents.MessageEvent:
		b.onMessage(ctx, e)
	case *slackevents.UserChangeEvent:
		b.onUserChange(ctx, e)
	default:
		b.log.Debug("event ignored", "type", ev.InnerEvent.Type)
	}
}

const mentionHelp = "Write `@jenkins-tokens offboard &lt;person&gt;` in a thread: a Jenkins " +
	"id, a Slack @mention or an email. Several people may follow, separated by spaces."

// onMention answers "@bot offboard <person> [<person>…]" in the thread it
// was written in, with one listing per person. In a watched channel the
// same message may also arrive as a message event; whichever comes first
// answers, with the same result.
func (b *Bot) onMention(ctx context.Context, e *slackevents.AppMentionEvent) {
	if e.BotID != "" || e.User == "" || e.User == b.selfID || e.Edited != nil {
		return
	}
	lr := listRequest{Requester: e.User, Channel: e.Channel,
		ThreadTS: threadOf(e.ThreadTimeStamp, e.TimeStamp)}
	if !b.firstAnswer(ctx, e.Channel, e.TimeStamp) {
		return
	}
	words, ok := b.offboardWords(e.Channel, e.Text)
	if !ok || len(words) == 0 {
		b.tell(ctx, lr, mentionHelp)
		return
	}
	b.log.Info("offboarding mention", "slack_user", e.User, "channel", e.Channel,
		"people", len(words))
	b.listMany(ctx, lr, words)
}

// callbackMessageShortcut is the callback id of the message shortcut.
const callbackMessageShortcut = "jenkins_tokens"

// onMessageShortcut lists the people a message names, in its thread.
func (b *Bot) onMessageShortcut(ctx context.Context, cb slack.InteractionCallback) {
	if cb.CallbackID != callbackMessageShortcut {
		b.log.Debug("unknown message shortcut", "callback_id", cb.CallbackID)
		return
	}
	lr := listRequest{Requester: cb.User.ID, Channel: cb.Channel.ID,
		ThreadTS:    threadOf(cb.Message.ThreadTimestamp, cb.Message.Timestamp),
		ResponseURL: cb.ResponseURL}
	words := namedPeople(cb.Message.Text, b.selfID)
	if len(words) == 0 {
		b.tell(ctx, lr, "That message names nobody I can look up: no Slack @mention "+
			"and no email address. Use `@jenkins-tokens offboard &lt;jenkins-id&gt;` in its "+
			"thread to name a Jenkins id.")
		return
	}
	b.log.Info("offboarding shortcut", "slack_user", cb.User.ID, "channel", cb.Channel.ID,
		"people", len(words))
	if !b.checkMayList(ctx, lr) {
		return
	}
	lr.ResponseURL = "" // listings and their errors go to the thread
	b.listMany(ctx, lr, words)
}

// namedPeople picks the mentions and emails out of a message.
func namedPeople(text, self string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.Fields(text) {
		w = strings.Trim(w, ".,;:!?()")
		t, err := ParseTarget(w)
		if err != nil || t.Kind == JenkinsID || (t.Kind == SlackUser && t.Value == self) {
			continue
		}
		if !seen[t.Value] {
			seen[t.Value] = true
			out = append(out, w)
		}
	}
	return out
}

// checkMayList tells the person why they get no listing, if they do not.
func (b *Bot) checkMayList(ctx context.Context, lr listRequest) bool {
	ok, err := b.mayList(ctx, lr.Requester, lr.Channel)
	if err != nil {
		b.log.Error("check requester", "slack_user", lr.Requester, "err", err)
		b.tell(ctx, lr, "I could not check whether you may look up tokens (Slack did "+
			"not answer); nothing was looked up. Try again.")
		return false
	}
	if !ok {
		b.log.Info("listing refused", "slack_user", lr.Requester, "reason",
			"not a requester")
		b.tell(ctx, lr, "Only the people and groups named in REQUESTERS may look up "+
			"Jenkins tokens here. Nothing was looked up.")
	}
	return ok
}

// listMany lists each named person in the thread, after checking the
// requester once. Several people get a short header reply first, so that
// their listings read as one group.
func (b *Bot) listMany(ctx context.Context, lr listRequest, words []string) {
	if !b.checkMayList(ctx, lr) {
		return
	}
	if len(words) > 1 {
		b.post(ctx, lr.Channel, lr.ThreadTS,
			fmt.Sprintf("Looking up %d people…", len(words)))
	}
	for _, w := range words {
		t, err := ParseTarget(w)
		if err != nil {
			b.tell(ctx, lr, err.Error())
			continue
		}
		one := lr
		one.Target = t
		b.list(ctx, one)
	}
}

// post writes a short plain message in a channel or thread.
func (b *Bot) post(ctx context.Context, channel, threadTS, text string) string {
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	_, ts, err := b.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		b.log.Error("post message", "channel", channel, "err", err)
	}
	return ts
}
