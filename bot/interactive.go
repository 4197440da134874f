package bot

import (
	"context"
	"errors"
	"fmt"
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

// errOtherWorkspace means a payload names a team other than the bot's own.
var errOtherWorkspace = errors.New("payload from another workspace")

// checkWorkspace accepts a payload only when team, the workspace it was
// sent from, is own, and userTeam, the clicker's home workspace, is own or
// absent (message shortcuts carry no user team). An unknown own team
// accepts nothing.
func checkWorkspace(own, team, userTeam string) error {
	if own == "" || team != own || (userTeam != "" && userTeam != own) {
		return fmt.Errorf("check team %q, user team %q: %w", team, userTeam,
			errOtherWorkspace)
	}
	return nil
}

// fromOwnWorkspace reports whether a payload sent from team, by a user of
// userTeam ("" when the payload does not say), may be handled at all; it
// logs why not. Slash commands pass their team_id and "". It answers
// nobody: the sender is not one of ours.
func (b *Bot) fromOwnWorkspace(ctx context.Context, user, team, userTeam string) bool {
	own, ok := b.knownTeam(ctx, user)
	if !ok {
		return false
	}
	if err := checkWorkspace(own, team, userTeam); err != nil {
		b.refusedWorkspace(user, team, userTeam)
		return false
	}
	return true
}

// knownTeam returns the bot's workspace id, which Run learns from
// auth.test before it takes any envelope.
func (b *Bot) knownTeam(_ context.Context, user string) (string, bool) {
	if b.teamID == "" {
		b.log.Error("check workspace", "slack_user", user, "err", "workspace not known yet")
		return "", false
	}
	return b.teamID, true
}

func (b *Bot) refusedWorkspace(user, team, userTeam string) {
	b.log.Warn("payload refused", "slack_user", user, "reason", "other workspace",
		"team", team, "user_team", userTeam)
}

// stepKind is what an interaction asks the bot to do.
type stepKind int

// The kinds of interaction the bot handles.
const (
	stepUnknown stepKind = iota
	stepRevoke
	stepApprove
	stepDeny
	stepCancel
	stepRetry
	stepChoose
	stepDenySubmitted
	stepShortcut
)

// step is one thing an interaction asks for; action is nil for modal
// submissions and shortcuts.
type step struct {
	kind   stepKind
	action *slack.BlockAction
}

// readInteraction turns a payload into the step the bot takes, without
// I/O. A payload from another workspace (errOtherWorkspace) takes none. Of
// a block_actions payload only the first action counts: Slack sends one
// per click, and a forged list must not fan out into many handlers.
func readInteraction(own string, cb slack.InteractionCallback) (step, error) {
	if err := checkWorkspace(own, cb.Team.ID, cb.User.TeamID); err != nil {
		return step{}, err
	}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		acts := cb.ActionCallback.BlockActions
		if len(acts) == 0 || acts[0] == nil {
			return step{}, nil
		}
		return step{kind: actionKind(acts[0]), action: acts[0]}, nil
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID == callbackDenyReason {
			return step{kind: stepDenySubmitted}, nil
		}
	case slack.InteractionTypeMessageAction:
		return step{kind: stepShortcut}, nil
	}
	return step{}, nil
}

// actionKind maps a button's action id to what it asks for.
func actionKind(a *slack.BlockAction) stepKind {
	switch a.ActionID {
	case actionRevokeToken, actionRevokeAll, actionRevokeAllEnd:
		return stepRevoke
	case actionApprove:
		return stepApprove
	case actionDeny:
		return stepDeny
	case actionCancel:
		return stepCancel
	case actionRetry:
		return stepRetry
	}
	if strings.HasPrefix(a.ActionID, actionChoosePrefix) {
		return stepChoose
	}
	return stepUnknown
}

// parseApproveValue splits an Approve button's value, "<request id>|<plan
// hash>" (see approveValue). Both parts must be there and neither may hold
// a further "|".
func parseApproveValue(v string) (id, hash string, ok bool) {
	id, hash, found := strings.Cut(v, "|")
	if !found || id == "" || hash == "" || strings.Contains(hash, "|") {
		return "", "", false
	}
	return id, hash, true
}

// onInteractive checks where an interaction comes from, before anything
// else, then dispatches a button click, a modal submission or a shortcut to
// its handler.
func (b *Bot) onInteractive(ctx context.Context, evt socketmode.Event) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		return
	}
	own, ok := b.knownTeam(ctx, cb.User.ID)
	if !ok {
		return
	}
	s, err := readInteraction(own, cb)
	if err != nil {
		b.refusedWorkspace(cb.User.ID, cb.Team.ID, cb.User.TeamID)
		return
	}
	switch s.kind {
	case stepDenySubmitted:
		b.onDenySubmitted(ctx, cb)
	case stepShortcut:
		b.onMessageShortcut(ctx, cb)
	case stepUnknown:
		if s.action != nil {
			b.log.Debug("unknown action", "action_id", s.action.ActionID)
		}
	default:
		b.onAction(ctx, cb, s)
	}
}

func (b *Bot) onAction(ctx context.Context, cb slack.InteractionCallback, s step) {
	a := s.action
	switch s.kind {
	case stepRevoke:
		b.onRevoke(ctx, cb, a)
	case stepApprove:
		b.onApprove(ctx, cb, a)
	case stepDeny:
		b.onDeny(ctx, cb, a)
	case stepCancel:
		b.onCancel(ctx, cb, a)
	case stepRetry:
		b.onRetry(ctx, cb, a)
	case stepChoose:
		b.onChoose(ctx, cb, a)
	}
}
