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
	return b.approverOrTell(ctx, cb.User.ID, func(text string) {
		b.reply(ctx, cb.ResponseURL, text)
	})
}

// approverOrTell reports whether user is an approver, and otherwise says
// why not through tell.
func (b *Bot) approverOrTell(ctx context.Context, user string, tell func(string)) bool {
	ok, err := b.access.isApprover(ctx, user)
	if err != nil {
		b.log.Error("check approver", "slack_user", user, "err", err)
		tell("I could not check whether you are an approver (Slack did not answer). " +
			"Nothing changed; try again.")
		return false
	}
	if !ok {
		b.log.Info("decision refused", "slack_user", user, "reason", "not an approver")
		tell("Only the people and groups named in APPROVERS may approve or deny. " +
			"Nothing changed.")
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

// onDenySubmitted denies a request with the reason from the modal. A modal
// has no response_url, so refusals go to the submitter as an ephemeral
// message next to the approval message.
func (b *Bot) onDenySubmitted(ctx context.Context, cb slack.InteractionCallback) {
	id := cb.View.PrivateMetadata
	tell := func(text string) { b.tellOnRequest(ctx, id, cb.User.ID, text) }
	if !b.approverOrTell(ctx, cb.User.ID, tell) {
		return
	}
	reason := strings.TrimSpace(denyReason(cb))
	req, err := b.store.Deny(ctx, id, cb.User.ID, reason)
	if err != nil {
		b.log.Info("denial refused", "request_id", id, "slack_user", cb.User.ID, "err", err)
		tell(refusal(err, req))
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

// tellOnRequest shows user an ephemeral message beside the approval
// message of request id; it only logs when the request or its message is
// unknown.
func (b *Bot) tellOnRequest(ctx context.Context, id, user, text string) {
	req, err := b.store.Get(ctx, id)
	if err != nil {
		b.log.Info("cannot answer on request", "request_id", id, "slack_user", user, "err", err)
		return
	}
	for _, ref := range req.Messages {
		if ref.Kind != refApproval {
			continue
		}
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if ref.ThreadTS != "" {
			opts = append(opts, slack.MsgOptionTS(ref.ThreadTS))
		}
		if _, err := b.api.PostEphemeralContext(ctx, ref.Channel, user, opts...); err != nil {
			b.log.Error("post ephemeral", "request_id", id, "slack_user", user, "err", err)
		}
		return
	}
}
