package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// sentence is an error whose text is written for the person in Slack, not
// for a log: a whole sentence, capitalised and punctuated, shown as it is.
type sentence string

func (s sentence) Error() string { return string(s) }

// say formats a sentence.
func say(format string, args ...any) error { return sentence(fmt.Sprintf(format, args...)) }

// jenkinsProblem says in words what went wrong on a controller. Errors from
// the jenkins package carry no secret, so their text may be shown.
func jenkinsProblem(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "did not answer in time"
	case errors.Is(err, jenkins.ErrUnauthorized):
		return "refused the bot's API token (401): an admin must renew it"
	case errors.Is(err, jenkins.ErrForbidden):
		return "the bot's account lacks Overall/Administer (403)"
	case jenkins.IsRetryable(err):
		return "failed for now, try again later: " + err.Error()
	}
	return err.Error()
}

// slackProblem says in words why a Slack call failed.
func slackProblem(doing string, err error) string {
	switch {
	case isSlackError(err, "not_in_channel"), isSlackError(err, "channel_not_found"):
		return fmt.Sprintf("I could not %s: invite me to this channel first "+
			"(/invite @jenkins-tokens).", doing)
	case isSlackError(err, "invalid_blocks"):
		return fmt.Sprintf("I could not %s: Slack refused the message layout. "+
			"This is a bug; nothing was changed.", doing)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Sprintf("I could not %s: Slack asked me to slow down. Try again "+
			"in a minute.", doing)
	}
	return fmt.Sprintf("I could not %s: Slack answered %v.", doing, err)
}

func isSlackError(err error, code string) bool {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err == code
	}
	return err != nil && err.Error() == code
}

// refusal turns an approvals refusal into words for the person who clicked.
func refusal(err error, req *approvals.Request) string {
	switch {
	case errors.Is(err, approvals.ErrNotFound):
		return "I cannot find that request; it may be past its retention."
	case errors.Is(err, approvals.ErrExpired):
		return "This request expired before it was approved. Ask again from a new listing."
	case errors.Is(err, approvals.ErrAlreadyDecided):
		return "This request was already decided; nothing changed."
	case errors.Is(err, approvals.ErrSelfApproval):
		return "You asked for this revocation, so someone else must approve it."
	case errors.Is(err, approvals.ErrTargetCannotAct):
		return "You cannot request or approve your own offboarding."
	case errors.Is(err, approvals.ErrAlreadyApproved):
		return "You already approved this request; it needs another approver."
	case errors.Is(err, approvals.ErrPlanChanged):
		return "The tokens in this request changed since you saw it. Look again " +
			"and approve the new version."
	case errors.Is(err, approvals.ErrNotRequester):
		who := "the requester"
		if req != nil {
			who = "<@" + req.Requester + ">"
		}
		return "Only " + who + " can cancel this request."
	}
	return "That did not work: the approval store did not answer. Nothing changed; " +
		"try again."
}
