package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack/slackevents"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
)

// botRequester marks requests the bot opened itself.
const botRequester = "bot"

func (b *Bot) deactivationKey(user string) string {
	return b.cfg.KeyPrefix + "deactivated:" + user
}

// onUserChange looks up a Slack account that was deactivated (as SCIM
// deprovisioning does) and, when Jenkins still has tokens for the person,
// posts a listing in the first offboarding channel. Each deactivation is
// handled once across replicas; a reactivation forgets it, so that a later
// deactivation is handled again.
func (b *Bot) onUserChange(ctx context.Context, e *slackevents.UserChangeEvent) {
	u := e.User
	if u.IsBot || u.ID == "" {
		return
	}
	if !u.Deleted {
		if err := b.rdb.Del(ctx, b.deactivationKey(u.ID)).Err(); err != nil {
			b.log.Error("forget deactivation", "target_slack", u.ID, "err", err)
		}
		return
	}
	if len(b.cfg.OffboardingChannels) == 0 {
		b.log.Debug("deactivation ignored: no offboarding channel", "target_slack", u.ID)
		return
	}
	first, err := b.rdb.SetNX(ctx, b.deactivationKey(u.ID), b.cfg.ReplicaID,
		b.cfg.DeactivationDedupTTL).Result()
	if err != nil {
		b.log.Error("mark deactivation", "target_slack", u.ID, "err", err)
		return
	}
	if !first {
		b.log.Debug("deactivation already handled", "target_slack", u.ID)
		return
	}
	// TODO: a replica that dies between this claim and its post loses the
	// deactivation for DeactivationDedupTTL; a claim with a lease, renewed
	// until posted, would let another replica take over.
	b.onDeactivated(ctx, u)
}

// onDeactivated lists a deactivated person's tokens and, when there are
// any, posts them in a new thread of the first offboarding channel.
func (b *Bot) onDeactivated(ctx context.Context, u slackevents.User) {
	log := b.log.With("target_slack", u.ID)
	// The event's profile carries no email in slack-go; users.info does,
	// for deactivated accounts too.
	email, _, err := b.slackEmail(ctx, u.ID, "the Jenkins id")
	if err != nil {
		log.Warn("deactivated user not looked up", "err", err)
		return
	}
	lr := listRequest{Requester: b.selfID, Channel: b.cfg.OffboardingChannels[0]}
	snap := b.newSnapshot(lr)
	snap.Target, snap.TargetSlack, snap.TargetEmail = u.Name, u.ID, email
	ids, choices := b.idsByEmail(ctx, snap, email, lr.nameHint())
	b.listInto(ctx, snap, ids)
	if snap.tokenCount() == 0 && len(choices) == 0 {
		log.Debug("deactivated user has no jenkins tokens", "problems", problemCount(snap))
		return
	}
	lr.ThreadTS = b.post(ctx, lr.Channel, "", deactivationText(snap, b.autoRequest(snap)))
	if lr.ThreadTS == "" {
		return
	}
	snap.ThreadTS = lr.ThreadTS
	for i := range choices {
		choices[i].ThreadTS = lr.ThreadTS
	}
	log.Info("deactivated user has jenkins tokens", "tokens", snap.tokenCount())
	if !b.publish(ctx, lr, snap) {
		return
	}
	b.askChoices(ctx, lr, choices)
	if b.autoRequest(snap) {
		b.requestForBot(ctx, snap)
	}
}

func (b *Bot) autoRequest(snap *snapshot) bool {
	return b.cfg.AutoRequestOnDeactivation && snap.tokenCount() > 0
}

func problemCount(snap *snapshot) int {
	n := 0
	for _, c := range snap.Controllers {
		if c.Problem != "" {
			n++
		}
	}
	return n
}

func deactivationText(snap *snapshot, auto bool) string {
	s := fmt.Sprintf(":bust_in_silhouette: The Slack account of <@%s> was deactivated, "+
		"and Jenkins still has %s for them.", snap.TargetSlack,
		plural(snap.tokenCount(), "API token"))
	if snap.tokenCount() == 0 {
		return fmt.Sprintf(":bust_in_silhouette: The Slack account of <@%s> was "+
			"deactivated, and several Jenkins users have their email: say which one "+
			"is theirs in the thread.", snap.TargetSlack)
	}
	if auto {
		return s + " I asked for approval to revoke them all; see the thread."
	}
	return s + " Someone in REQUESTERS can ask to revoke them in the thread."
}

// requestForBot opens the approval request for every listed token, with
// the bot as requester. No person asked, so it needs one approver more than
// a person's request: two people still agree on every revocation.
func (b *Bot) requestForBot(ctx context.Context, snap *snapshot) {
	plan := planAll(snap)
	req, err := b.store.Create(ctx, approvals.NewRequest{
		Required:  b.cfg.ApprovalsRequired + 1,
		Requester: botRequester,
		Target: approvals.Target{Label: snap.Target, SlackUser: snap.TargetSlack,
			Email: snap.TargetEmail},
		Plan:   plan,
		DryRun: b.cfg.DryRun,
	})
	if err != nil {
		b.log.Error("open request for deactivated user", "target_slack", snap.TargetSlack,
			"err", err)
		b.post(ctx, snap.Channel, snap.ThreadTS, "I could not open the approval request "+
			"myself ("+refusal(err, nil)+"). Use the buttons of the listing instead.")
		return
	}
	b.log.Info("requested", "request_id", req.ID, "slack_user", botRequester,
		"target", snap.Target, "tokens", planSize(plan))
	b.postApproval(ctx, req, snap)
}
