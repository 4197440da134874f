package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
)

// maxListed bounds the lines of a pending or audit reply.
const maxListed = 25

// showPending tells the requester which requests wait for approval.
func (b *Bot) showPending(ctx context.Context, responseURL string) {
	reqs, err := b.store.Pending(ctx)
	if err != nil {
		b.log.Error("read pending requests", "err", err)
		b.reply(ctx, responseURL, "I could not read the pending requests (Redis did not "+
			"answer). Try again.")
		return
	}
	b.reply(ctx, responseURL, pendingText(reqs, b.now()))
}

func pendingText(reqs []*approvals.Request, now time.Time) string {
	if len(reqs) == 0 {
		return "No request is waiting for approval."
	}
	lines := []string{fmt.Sprintf("*%s waiting for approval:*", plural(len(reqs), "request"))}
	for i, r := range reqs {
		if i == maxListed {
			lines = append(lines, fmt.Sprintf("…and %d more", len(reqs)-i))
			break
		}
		lines = append(lines, fmt.Sprintf("• %s: %s of `%s`, asked by <@%s> %s, "+
			"%d of %d approvals, expires %s", r.ID, plural(planSize(r.Plan), "token"),
			esc(r.Target.Label), r.Requester, ago(now, r.Created), len(r.Approvals),
			r.Required, slackDate(r.Expires)))
	}
	return strings.Join(lines, "\n")
}

// showAudit tells the requester the last audit events about a person.
func (b *Bot) showAudit(ctx context.Context, responseURL string, t Target) {
	events, err := b.store.Events(ctx, approvals.EventQuery{Target: t.Value})
	if err != nil {
		b.log.Error("read audit events", "target", t.Value, "err", err)
		b.reply(ctx, responseURL, "I could not read the audit trail (Redis did not "+
			"answer). Try again.")
		return
	}
	b.reply(ctx, responseURL, auditText(t, events))
}

func auditText(t Target, events []approvals.Event) string {
	if len(events) == 0 {
		return fmt.Sprintf("No audit events about %s.", esc(t.String()))
	}
	if len(events) > maxListed {
		events = events[len(events)-maxListed:]
	}
	lines := []string{fmt.Sprintf("*Last %s about %s:*", plural(len(events), "event"),
		esc(t.String()))}
	for _, e := range events {
		lines = append(lines, "• "+auditLine(e))
	}
	return strings.Join(lines, "\n")
}

// auditLine is one audit event as a person reads it.
func auditLine(e approvals.Event) string {
	actor := e.Actor
	if strings.HasPrefix(actor, "U") || strings.HasPrefix(actor, "W") {
		actor = "<@" + actor + ">"
	} else {
		actor = esc(actor)
	}
	from := string(e.From)
	if from == "" {
		from = "new"
	}
	return fmt.Sprintf("%s %s: request %s %s → %s", stamp(e.Time), actor, e.RequestID,
		from, e.To)
}
