package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
)

// Kinds of Slack messages a request refers to.
const (
	refApproval = "approval"
	// refListing is followed by "/<listing id>/<page>".
	refListing = "listing"
)

// onRevoke opens an approval request for exactly the tokens a listing
// showed: one token, or all of them.
func (b *Bot) onRevoke(ctx context.Context, cb slack.InteractionCallback,
	a *slack.BlockAction) {
	user := cb.User.ID
	log := b.log.With("slack_user", user)
	ok, err := b.access.isRequester(ctx, user)
	if err != nil || !ok {
		log.Info("revoke click refused", "reason", "not a requester", "err", err)
		b.reply(ctx, cb.ResponseURL, "Only the people and groups named in REQUESTERS "+
			"may ask for a revocation. Nothing changed.")
		return
	}
	snap, plan, err := b.planFromClick(ctx, a)
	if err != nil {
		log.Info("revoke click refused", "err", err)
		b.reply(ctx, cb.ResponseURL, err.Error())
		return
	}
	req, err := b.store.Create(ctx, approvals.NewRequest{
		Requester: user,
		Target: approvals.Target{Label: snap.Target, SlackUser: snap.TargetSlack,
			Email: snap.TargetEmail},
		Plan:   plan,
		DryRun: b.cfg.DryRun,
	})
	if err != nil {
		log.Info("request refused", "err", err)
		b.reply(ctx, cb.ResponseURL, refusal(err, nil))
		return
	}
	b.m.command("revoke_request", "ok")
	log.Info("requested", "request_id", req.ID, "target", snap.Target,
		"tokens", planSize(plan), "end_sessions", plan.EndSessions)
	b.postApproval(ctx, req, snap)
}

// Refusals of revoke clicks, as the clicker reads them.
var (
	errListingGone = sentence("This listing is too old or unknown. " +
		"Run /jenkins-tokens again for a fresh one.")
	errNotShown = sentence("That token is not part of this listing. Nothing changed.")
)

// planFromClick reads a revoke button's value and builds the plan from the
// stored listing, never from the value alone: a forged value can only name
// tokens the listing showed. A value whose listing id is not one the bot
// issues is refused without a Redis call.
func (b *Bot) planFromClick(ctx context.Context, a *slack.BlockAction) (*snapshot,
	approvals.Plan, error) {
	parts := strings.Split(a.Value, "|")
	if !isListingID(parts[0]) {
		return nil, approvals.Plan{}, errListingGone
	}
	snap, err := b.snaps.load(ctx, parts[0])
	if errors.Is(err, errSnapshotGone) {
		return nil, approvals.Plan{}, errListingGone
	}
	if err != nil {
		return nil, approvals.Plan{}, sentence("I could not read this listing (Redis " +
			"did not answer). Nothing changed; try again.")
	}
	if a.ActionID != actionRevokeToken {
		return planAllFromClick(snap, a, parts)
	}
	plan, err := planOne(snap, parts)
	if err != nil {
		return nil, plan, err
	}
	return snap, plan, nil
}

// isListingID reports whether s is a listing id as newID makes them: a
// UUID in its canonical lowercase form.
func isListingID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

func planAllFromClick(snap *snapshot, a *slack.BlockAction, parts []string) (*snapshot,
	approvals.Plan, error) {
	if len(parts) != 1 {
		return nil, approvals.Plan{}, errNotShown
	}
	plan := planAll(snap)
	plan.EndSessions = a.ActionID == actionRevokeAllEnd
	if planSize(plan) == 0 {
		return nil, plan, sentence("This listing shows no tokens to revoke.")
	}
	return snap, plan, nil
}

func planAll(snap *snapshot) approvals.Plan {
	var plan approvals.Plan
	for _, c := range snap.Controllers {
		if len(c.Tokens) == 0 {
			continue
		}
		cp := approvals.ControllerPlan{Controller: c.Controller, JenkinsUser: c.JenkinsUser}
		for _, t := range c.Tokens {
			cp.Tokens = append(cp.Tokens,
				approvals.PlannedToken{UUID: t.UUID, Name: t.Name, Legacy: t.Legacy})
		}
		plan.Controllers = append(plan.Controllers, cp)
	}
	return plan
}

// planOne plans the one token that parts, a revoke button's value split at
// "|", names: "<listing>|<controller index>|<token uuid>". The token must be
// shown in snap at that controller; anything else is errNotShown.
func planOne(snap *snapshot, parts []string) (approvals.Plan, error) {
	if len(parts) != 3 || !isIndex(parts[1]) {
		return approvals.Plan{}, errNotShown
	}
	ci, err := strconv.Atoi(parts[1])
	if err != nil {
		return approvals.Plan{}, errNotShown
	}
	t, ok := snap.token(ci, parts[2])
	if !ok {
		return approvals.Plan{}, errNotShown
	}
	c := snap.Controllers[ci]
	return approvals.Plan{Controllers: []approvals.ControllerPlan{{
		Controller:  c.Controller,
		JenkinsUser: c.JenkinsUser,
		Tokens:      []approvals.PlannedToken{{UUID: t.UUID, Name: t.Name, Legacy: t.Legacy}},
	}}}, nil
}

// isIndex reports whether s is a controller index as tokenBlock writes it:
// decimal digits, no sign, no leading zero, at most four.
func isIndex(s string) bool {
	if s == "" || len(s) > 4 || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func planSize(p approvals.Plan) int {
	n := 0
	for _, c := range p.Controllers {
		n += len(c.Tokens)
	}
	return n
}

// postApproval posts the approval message next to the listing and records
// every message the request must keep up to date.
func (b *Bot) postApproval(ctx context.Context, req *approvals.Request, snap *snapshot) {
	blocks := approvalBlocks(req, snap, b.approvalView(req))
	opts := []slack.MsgOption{
		slack.MsgOptionText(approvalFallback(req), false),
		slack.MsgOptionBlocks(blocks...),
	}
	if snap.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(snap.ThreadTS))
	}
	_, ts, err := b.api.PostMessageContext(ctx, snap.Channel, opts...)
	if err != nil {
		b.log.Error("post approval message", "request_id", req.ID, "err", err)
		return
	}
	refs := []approvals.MessageRef{{Kind: refApproval, Channel: snap.Channel, TS: ts,
		ThreadTS: snap.ThreadTS}}
	for i, mts := range snap.Messages {
		refs = append(refs, approvals.MessageRef{
			Kind:    fmt.Sprintf("%s/%s/%d", refListing, snap.ID, i),
			Channel: snap.Channel, TS: mts, ThreadTS: snap.ThreadTS})
	}
	if err := b.store.SetMessages(ctx, req.ID, refs); err != nil {
		b.log.Error("record messages", "request_id", req.ID, "err", err)
	}
}

func approvalFallback(req *approvals.Request) string {
	return fmt.Sprintf("Revocation request for %s: %s", esc(req.Target.Label), req.State)
}
