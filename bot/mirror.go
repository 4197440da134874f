package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
)

// Audit channel mirroring: every replica follows the audit trail in one
// consumer group, so each event is posted once, and an event a replica took
// but did not post is handed to another replica after mirrorReclaim.
const (
	mirrorGroup   = "audit-channel"
	mirrorBlock   = 2 * time.Second
	mirrorReclaim = time.Minute
)

// mirrorLoop posts every audit event to the audit channel as one line.
func (b *Bot) mirrorLoop(ctx context.Context) {
	if b.cfg.AuditChannel == "" {
		return
	}
	for ctx.Err() == nil {
		events, err := b.store.Follow(ctx, mirrorGroup, b.cfg.ReplicaID, mirrorBlock,
			mirrorReclaim)
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error("follow audit trail", "err", err)
				sleep(ctx, mirrorBlock)
			}
			continue
		}
		b.mirrorEvents(ctx, events)
	}
}

func (b *Bot) mirrorEvents(ctx context.Context, events []approvals.Event) {
	for _, e := range events {
		_, _, err := b.api.PostMessageContext(ctx, b.cfg.AuditChannel,
			slack.MsgOptionText(mirrorLine(e), false))
		if err != nil {
			b.log.Error("mirror audit event", "request_id", e.RequestID, "err", err)
			return // left unacknowledged: this or another replica posts it later
		}
		if err := b.store.AckFollowed(ctx, mirrorGroup, e.ID); err != nil {
			b.log.Error("acknowledge audit event", "request_id", e.RequestID, "err", err)
		}
	}
}

// mirrorLine is an audit event as one readable line.
func mirrorLine(e approvals.Event) string {
	target := "`" + esc(e.Target.Label) + "`"
	if e.Target.SlackUser != "" {
		target = "<@" + e.Target.SlackUser + ">"
	}
	s := auditLine(e) + " · " + target
	if d := detailWords(e.Details); d != "" {
		s += " · " + d
	}
	return s
}

// detailWords picks the details a reader needs from an event: a reason, a
// takeover, result counts.
func detailWords(raw json.RawMessage) string {
	var d struct {
		Reason  string `json:"reason"`
		From    string `json:"takeover_from"`
		Results []struct {
			Outcome string `json:"outcome"`
		} `json:"results"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &d) != nil {
		return ""
	}
	var parts []string
	if d.Reason != "" {
		parts = append(parts, "reason: "+esc(truncate(d.Reason, 300)))
	}
	if d.From != "" {
		parts = append(parts, "taken over from replica "+esc(d.From))
	}
	if len(d.Results) > 0 {
		counts := map[string]int{}
		for _, r := range d.Results {
			counts[r.Outcome]++
		}
		var cs []string
		for _, o := range []string{"revoked", "already_gone", "still_present", "error"} {
			if counts[o] > 0 {
				cs = append(cs, fmt.Sprintf("%d %s", counts[o], strings.ReplaceAll(o, "_", " ")))
			}
		}
		parts = append(parts, strings.Join(cs, ", "))
	}
	return strings.Join(parts, " · ")
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
