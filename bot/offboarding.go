package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack/slackevents"
)

func defaultOffboardingKeywords() []string {
	return []string{"leaving", "offboard", "last day", "termination", "departure"}
}

// watched reports whether channel is one of the offboarding channels.
func (b *Bot) watched(channel string) bool {
	return channel != "" && slices.Contains(b.cfg.OffboardingChannels, channel)
}

// mayList decides who may get a listing: anyone posting in a watched
// offboarding channel, since that channel's membership is the gate and a
// listing shows only token metadata; elsewhere only REQUESTERS. Revoking
// always needs a requester and an approver, whoever listed.
func (b *Bot) mayList(ctx context.Context, user, channel string) (bool, error) {
	if b.watched(channel) {
		return true, nil
	}
	return b.access.isRequester(ctx, user)
}

// claimMessage reports whether this replica is the first to answer the
// Slack message channel/ts, whichever event (app_mention or message) and
// whichever replica brought it. When Redis cannot answer it returns true
// with the error: a second listing is better than none.
func (b *Bot) claimMessage(ctx context.Context, channel, ts string) (bool, error) {
	key := b.cfg.KeyPrefix + "answered:" + channel + ":" + ts
	ok, err := b.rdb.SetNX(ctx, key, b.cfg.ReplicaID, b.cfg.MessageDedupTTL).Result()
	if err != nil {
		return true, fmt.Errorf("mark message %s answered: %w", ts, err)
	}
	return ok, nil
}

// offboardWords reads what a message asks for. A message that mentions the
// bot followed by "offboard" names its targets literally (mentions,
// emails, Jenkins ids). Otherwise, in a watched channel, a message with an
// offboarding keyword names the people it mentions or whose email it
// gives. ok is false when the message asks for nothing.
func (b *Bot) offboardWords(channel, text string) (words []string, ok bool) {
	self := "<@" + b.selfID + ">"
	if b.selfID != "" && strings.Contains(text, self) {
		fields := strings.Fields(strings.ReplaceAll(text, self, " "))
		for i, w := range fields {
			if strings.EqualFold(strings.Trim(w, ".,;:!?"), "offboard") {
				return commandTargets(fields[i+1:]), true
			}
		}
	}
	if !b.watched(channel) || !hasKeyword(text, b.cfg.OffboardingKeywords) {
		return nil, false
	}
	words = namedPeople(text, b.selfID)
	return words, len(words) > 0
}

// connectors are words between targets that name nobody.
var connectors = map[string]bool{"and": true, "&amp;": true, "&": true, "+": true}

// commandTargets drops punctuation and connecting words from the words
// after "offboard".
func commandTargets(fields []string) []string {
	var out []string
	for _, w := range fields {
		w = strings.Trim(w, ",;:!?()")
		w = strings.TrimSuffix(w, ".")
		if w == "" || connectors[strings.ToLower(w)] {
			continue
		}
		out = append(out, w)
	}
	return out
}

// hasKeyword reports whether one of the keywords starts a word of text,
// case-insensitively: "offboard" matches "Offboarding", not "reoffboard".
func hasKeyword(text string, keywords []string) bool {
	lower := strings.ToLower(unescape(text))
	for _, k := range keywords {
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			continue
		}
		for i := 0; ; {
			j := strings.Index(lower[i:], k)
			if j < 0 {
				break
			}
			if wordStart(lower, i+j) {
				return true
			}
			i += j + len(k)
		}
	}
	return false
}

func wordStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// onMessage answers a new message from a person in a watched channel that
// names someone next to an offboarding word.
func (b *Bot) onMessage(ctx context.Context, e *slackevents.MessageEvent) {
	if !b.watched(e.Channel) || !b.fromPerson(e) {
		return
	}
	words, ok := b.offboardWords(e.Channel, e.Text)
	if !ok {
		return
	}
	lr := listRequest{Requester: e.User, Channel: e.Channel,
		ThreadTS: threadOf(e.ThreadTimeStamp, e.TimeStamp)}
	if !b.firstAnswer(ctx, e.Channel, e.TimeStamp) {
		return
	}
	b.log.Info("offboarding message", "slack_user", e.User, "channel", e.Channel,
		"people", len(words))
	b.listMany(ctx, lr, words)
}

// fromPerson reports whether a message event is a new message written by
// a person: not a bot (this one included), not an edit, and no subtype but
// thread_broadcast.
func (b *Bot) fromPerson(e *slackevents.MessageEvent) bool {
	if e.SubType != "" && e.SubType != "thread_broadcast" {
		return false
	}
	return e.User != "" && e.User != b.selfID && e.BotID == "" && !e.IsEdited()
}

// firstAnswer claims a message for this replica, logging a Redis failure.
func (b *Bot) firstAnswer(ctx context.Context, channel, ts string) bool {
	first, err := b.claimMessage(ctx, channel, ts)
	if err != nil {
		b.log.Error("dedup message", "channel", channel, "ts", ts, "err", err)
	}
	if !first {
		b.log.Debug("message already answered", "channel", channel, "ts", ts)
	}
	return first
}

func threadOf(threadTS, ts string) string {
	if threadTS != "" {
		return threadTS
	}
	return ts
}
