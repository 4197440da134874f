package bot

import (
	"context"
	"strings"

	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
)

// approveValue binds an Approve button to the request and to the exact plan
// the approver saw.
func approveValue(req *approvals.Request) string { return req.ID + "|" + req.PlanHash }

// checkApprover tells the clicker why they may not decide, if they may not.
func (b *Bot) checkApprover(ctx context.Context, cb slack.InteractionCallback) bool {
	ok, err := b.access.isApprover(ctx, cb.User.ID)
	if err != nil {
		b.log.Error("check approver", "slack_user", cb.User.ID, "err", err)
		b.reply(ctx, cb.ResponseURL, "I could not check whether you are an approver "+
			"(Slack did not answer). Nothing changed; try again.")
		return false
	}
	if !ok {
		b.log.Info("decision refused", "slack_user", cb.User.ID, "reason", "not an approver")
		b.reply(ctx, cb.ResponseURL, "Only the people and groups named in APPROVERS "+
			"may approve or deny. Nothing changed.")
	}
	return ok
}

func (b *Bot) onApprove(ctx context.Context, cb slack.InteractionCallback,
	a *slack.BlockAction) {
	id, hash, ok := parseApproveValue(a.Value)
	if !ok {
		b.log.Info("approval refused", "slack_user", cb.User.ID, "reason", "bad value")
		b.reply(ctx, cb.ResponseURL, "That Approve button is not one I made. Nothing changed.")
		return
	}
	if !b.checkApprover(ctx, cb) {
		return
	}
	req, err := b.store.Approve(ctx, id, cb.User.ID, hash)
	if err != nil {
		b.m.approval("refused")
		b.log.Info("approval refused", "request_id", id, "slack_user", cb.User.ID, "err", err)
		b.reply(ctx, cb.ResponseURL, refusal(err, nil))
		if req != nil {
			b.refresh(ctx, req)
		}
		return
	}
	b.m.approval("approved")
	b.log.Info("approved", "request_id", id, "slack_user", cb.User.ID,
		"state", string(req.State))
	b.refresh(ctx, req)
	if req.State == approvals.Approved {
		b.execute(ctx, id)
	}
}

// onDeny asks for the reason in a modal; the denial happens on submit.
func (b *Bot) onDeny(ctx context.Context, cb slack.InteractionCallback,
	a *slack.BlockAction) {
	if !b.checkApprover(ctx, cb) {
		return
	}
	input := slack.NewPlainTextInputBlockElement(plain("Why is this denied?"),
		actionDenyReasonInput)
	input.Multiline = true
	input.MaxLength = 1000
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plain("Deny revocation"),
		Submit:          plain("Deny"),
		Close:           plain("Back"),
		CallbackID:      callbackDenyReason,
		PrivateMetadata: a.Value,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockDenyReason, plain("Reason"), nil, input),
		}},
	}
	if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, view); err != nil {
		b.log.Error("open deny dialog", "request_id", a.Value, "err", err)
		b.reply(ctx, cb.ResponseURL, slackProblem("open the deny dialog", err))
	}
}

func (b *Bot) onDenySubmitted(ctx context.Context, cb slack.InteractionCallback) {
	if !b.checkApprover(ctx, cb) {
		return
	}
	id := cb.View.PrivateMetadata
	reason := strings.TrimSpace(denyReason(cb))
	req, err := b.store.Deny(ctx, id, cb.User.ID, reason)
	if err != nil {
		b.log.Info("denial refused", "request_id", id, "slack_user", cb.User.ID, "err", err)
		b.dm(ctx, cb.User.ID, refusal(err, req))
		return
	}
	b.m.approval("denied")
	b.log.Info("denied", "request_id", id, "slack_user", cb.User.ID)
	b.refresh(ctx, req)
}

func (b *Bot) onCancel(ctx context.Context, cb slack.InteractionCallback,
	a *slack.BlockAction) {
	req, err := b.store.Cancel(ctx, a.Value, cb.User.ID)
	if err != nil {
		b.log.Info("cancel refused", "request_id", a.Value, "slack_user", cb.User.ID,
			"err", err)
		if req == nil {
			req, _ = b.store.Get(ctx, a.Value)
		}
		b.reply(ctx, cb.ResponseURL, refusal(err, req))
		return
	}
	b.m.approval("cancelled")
	b.log.Info("cancelled", "request_id", a.Value, "slack_user", cb.User.ID)
	b.refresh(ctx, req)
}

// onRetry starts another attempt for the tokens a failed execution did not
// revoke.
func (b *Bot) onRetry(ctx context.Context, cb slack.InteractionCallback,
	a *slack.BlockAction) {
	if !b.checkApprover(ctx, cb) {
		return
	}
	req, err := b.store.Retry(ctx, a.Value, cb.User.ID)
	if err != nil {
		b.log.Info("retry refused", "request_id", a.Value, "slack_user", cb.User.ID,
			"err", err)
		b.reply(ctx, cb.ResponseURL, refusal(err, req))
		return
	}
	b.log.Info("retry approved", "request_id", a.Value, "slack_user", cb.User.ID)
	b.refresh(ctx, req)
	b.execute(ctx, req.ID)
}

// dm tells a person something privately where no response_url exists.
func (b *Bot) dm(ctx context.Context, user, text string) {
	_, _, err := b.api.PostMessageContext(ctx, user, slack.MsgOptionText(text, false))
	if err != nil {
		b.log.Error("direct message", "slack_user", user, "err", err)
	}
}
