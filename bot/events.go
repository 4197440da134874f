package bot

import (
	"context"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// onEvent handles Events API envelopes: mentions of the bot.
func (b *Bot) onEvent(ctx context.Context, evt socketmode.Event) {
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		return
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		b.onMention(ctx, e)
	default:
		b.log.Debug("event ignored", "type", ev.InnerEvent.Type)
	}
}

// onMention answers "@bot offboard <person> [<person>…]" in the thread it
// was written in, with one listing per person.
func (b *Bot) onMention(ctx context.Context, e *slackevents.AppMentionEvent) {
	if e.BotID != "" || e.User == "" || e.User == b.selfID {
		return
	}
	thread := e.ThreadTimeStamp
	if thread == "" {
		thread = e.TimeStamp
	}
	lr := listRequest{Requester: e.User, Channel: e.Channel, ThreadTS: thread}
	words := strings.Fields(strings.Replace(e.Text, "<@"+b.selfID+">", "", 1))
	if len(words) == 0 || !strings.EqualFold(words[0], "offboard") {
		b.tell(ctx, lr, "Write `@jenkins-tokens offboard <person>`: a Jenkins id, a "+
			"Slack @mention or an email. Several people may follow, separated by spaces.")
		return
	}
	b.listMany(ctx, lr, words[1:])
}

// onMessageShortcut lists the people a message names, in its thread.
func (b *Bot) onMessageShortcut(ctx context.Context, cb slack.InteractionCallback) {
	thread := cb.Message.ThreadTimestamp
	if thread == "" {
		thread = cb.Message.Timestamp
	}
	lr := listRequest{Requester: cb.User.ID, Channel: cb.Channel.ID, ThreadTS: thread,
		ResponseURL: cb.ResponseURL}
	words := namedPeople(cb.Message.Text, b.selfID)
	if len(words) == 0 {
		b.tell(ctx, lr, "That message names nobody I can look up: no Slack @mention "+
			"and no email address.")
		return
	}
	lr.ResponseURL = "" // listings go to the thread; refusals stay private below
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

// listMany lists each named person, after checking the requester once.
func (b *Bot) listMany(ctx context.Context, lr listRequest, words []string) {
	ok, err := b.access.isRequester(ctx, lr.Requester)
	if err != nil || !ok {
		b.log.Info("listing refused", "slack_user", lr.Requester, "reason",
			"not a requester", "err", err)
		b.tell(ctx, lr, "Only the people and groups named in REQUESTERS may look up "+
			"Jenkins tokens. Nothing was looked up.")
		return
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
