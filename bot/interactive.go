package bot

import (
	"context"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// viewErrors is the ack payload that keeps a modal open with field errors.
type viewErrors struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
}

// ackPayload returns what the ack of an interaction must carry: field
// errors for a deny modal without a reason, nothing otherwise. It does no
// I/O, so the loop stays fast.
func ackPayload(evt socketmode.Event) any {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok || cb.Type != slack.InteractionTypeViewSubmission ||
		cb.View.CallbackID != callbackDenyReason {
		return nil
	}
	if strings.TrimSpace(denyReason(cb)) == "" {
		return viewErrors{ResponseAction: "errors",
			Errors: map[string]string{blockDenyReason: "Say why the request is denied."}}
	}
	return nil
}

func isViewError(payload any) bool {
	_, ok := payload.(viewErrors)
	return ok
}

func denyReason(cb slack.InteractionCallback) string {
	if cb.View.State == nil {
		return ""
	}
	return cb.View.State.Values[blockDenyReason][actionDenyReasonInput].Value
}

// onInteractive dispatches a button click, a modal submission or a
// shortcut to its handler.
func (b *Bot) onInteractive(ctx context.Context, evt socketmode.Event) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			b.onAction(ctx, cb, a)
		}
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID == callbackDenyReason {
			b.onDenySubmitted(ctx, cb)
		}
	case slack.InteractionTypeMessageAction:
		b.onMessageShortcut(ctx, cb)
	}
}

func (b *Bot) onAction(ctx context.Context, cb slack.InteractionCallback,
	a *slack.BlockAction) {
	switch a.ActionID {
	case actionRevokeToken, actionRevokeAll, actionRevokeAllEnd:
		b.onRevoke(ctx, cb, a)
	case actionApprove:
		b.onApprove(ctx, cb, a)
	case actionDeny:
		b.onDeny(ctx, cb, a)
	case actionCancel:
		b.onCancel(ctx, cb, a)
	case actionRetry:
		b.onRetry(ctx, cb, a)
	default:
		if strings.HasPrefix(a.ActionID, actionChoosePrefix) {
			b.onChoose(ctx, cb, a)
			return
		}
		b.log.Debug("unknown action", "action_id", a.ActionID)
	}
}
