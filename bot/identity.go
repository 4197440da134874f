package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// idFromLocalPart is the JenkinsIDFromEmail rule that maps
// alice@example.com to the Jenkins id alice.
const idFromLocalPart = "localpart"

// idByLocalPart applies the JenkinsIDFromEmail rule on a controller where
// no Mailer address matched. It returns the Jenkins id, or a problem in
// words when there is none. A user whose Mailer address is another one is
// not taken for the same person.
func (b *Bot) idByLocalPart(ctx context.Context, controller, email string) (string, string) {
	none := "no Jenkins user has the email " + email
	local, _, ok := strings.Cut(email, "@")
	if b.cfg.JenkinsIDFromEmail != idFromLocalPart || !ok || local == "" {
		return "", none
	}
	c := b.fleet.Client(controller)
	if c == nil {
		return "", none
	}
	u, err := c.LookupUser(ctx, local)
	switch {
	case errors.Is(err, jenkins.ErrUserNotFound), errors.Is(err, jenkins.ErrInvalidID):
		return "", fmt.Sprintf("%s, and there is no Jenkins user %s", none, local)
	case err != nil:
		return "", jenkinsProblem(err)
	case u.Email != "" && !strings.EqualFold(u.Email, email):
		return "", fmt.Sprintf("%s; the Jenkins user %s has another email (%s), so "+
			"I do not assume it is the same person", none, u.ID, u.Email)
	}
	return u.ID, ""
}

// identityChoice is a pending question: which of several Jenkins users on
// one controller is the person being offboarded. It lives in Redis for
// Config.ChoiceTTL; the buttons carry only its id and an index, so a forged
// value can only pick one of the stored candidates.
type identityChoice struct {
	ID          string   `json:"id"`
	Controller  string   `json:"controller"`
	Candidates  []string `json:"candidates"`
	Target      string   `json:"target"`
	TargetSlack string   `json:"target_slack,omitempty"`
	TargetEmail string   `json:"target_email,omitempty"`
	Channel     string   `json:"channel"`
	ThreadTS    string   `json:"thread_ts,omitempty"`
}

// maxCandidates bounds the buttons of one choice message.
// TODO: page through more candidates; 20 users sharing one email on one
// controller has not been seen, and an actions block holds 25 elements.
const maxCandidates = 20

// actionChoosePrefix starts the action id of each candidate button; the
// index follows, since action ids must be unique within a message.
const actionChoosePrefix = "choose_jenkins_user_"

func newIdentityChoice(snap *snapshot, cu jenkins.ControllerUsers) identityChoice {
	c := identityChoice{ID: newID(), Controller: cu.Controller, Target: snap.Target,
		TargetSlack: snap.TargetSlack, TargetEmail: snap.TargetEmail,
		Channel: snap.Channel, ThreadTS: snap.ThreadTS}
	for i, u := range cu.Users {
		if i == maxCandidates {
			break
		}
		c.Candidates = append(c.Candidates, u.ID)
	}
	return c
}

func (b *Bot) choiceKey(id string) string { return b.cfg.KeyPrefix + "choice:" + id }

// askChoices stores each choice and posts its buttons in the thread.
func (b *Bot) askChoices(ctx context.Context, lr listRequest, choices []identityChoice) {
	for _, c := range choices {
		raw, err := json.Marshal(c)
		if err == nil {
			err = b.rdb.Set(ctx, b.choiceKey(c.ID), raw, b.cfg.ChoiceTTL).Err()
		}
		if err != nil {
			b.log.Error("save identity choice", "controller", c.Controller, "err", err)
			b.tell(ctx, lr, fmt.Sprintf("Several Jenkins users on %s match, and I could "+
				"not store the question (Redis did not answer). Name one directly: %s",
				esc(c.Controller), lr.nameHint()))
			continue
		}
		b.postChoice(ctx, lr, c)
	}
}

func (b *Bot) postChoice(ctx context.Context, lr listRequest, c identityChoice) {
	opts := []slack.MsgOption{
		slack.MsgOptionText("Which Jenkins user is "+esc(c.Target)+"?", false),
		slack.MsgOptionBlocks(choiceBlocks(c)...),
	}
	if c.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(c.ThreadTS))
	}
	if _, _, err := b.api.PostMessageContext(ctx, c.Channel, opts...); err != nil {
		b.log.Error("post identity choice", "controller", c.Controller, "err", err)
		b.tell(ctx, lr, slackProblem("ask which Jenkins user is meant", err))
	}
}

// onChoose lists the Jenkins user picked with a choice button, on that
// controller, in the choice's thread. The first valid click wins.
func (b *Bot) onChoose(ctx context.Context, cb slack.InteractionCallback,
	a *slack.BlockAction) {
	id, idx, _ := strings.Cut(a.Value, "|")
	c, err := b.loadChoice(ctx, id)
	if err != nil {
		b.reply(ctx, cb.ResponseURL, err.Error())
		return
	}
	lr := listRequest{Requester: cb.User.ID, Channel: c.Channel, ThreadTS: c.ThreadTS,
		ResponseURL: cb.ResponseURL}
	if !b.checkMayList(ctx, lr) {
		return
	}
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 || n >= len(c.Candidates) ||
		a.ActionID != actionChoosePrefix+idx {
		b.reply(ctx, cb.ResponseURL, "That is not one of the offered Jenkins users. "+
			"Nothing was looked up.")
		return
	}
	if !b.takeChoice(ctx, cb, id) {
		return
	}
	chosen := c.Candidates[n]
	b.log.Info("jenkins user chosen", "slack_user", cb.User.ID, "controller", c.Controller,
		"jenkins_user", chosen)
	b.markChosen(ctx, cb, c, chosen)
	lr.ResponseURL = ""
	b.publish(ctx, lr, b.choiceSnapshot(ctx, lr, c, chosen))
}

// loadChoice reads a stored choice, in words when it cannot.
func (b *Bot) loadChoice(ctx context.Context, id string) (*identityChoice, error) {
	raw, err := b.rdb.Get(ctx, b.choiceKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, sentence("This question is too old, unknown or already " +
			"answered. Nothing was looked up.")
	}
	if err != nil {
		b.log.Error("load identity choice", "err", err)
		return nil, sentence("I could not read this question (Redis did not " +
			"answer). Try again.")
	}
	var c identityChoice
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, sentence("This question is unreadable. Nothing was looked up.")
	}
	return &c, nil
}

// takeChoice deletes the choice so that a second click, on any replica,
// finds nothing. It reports whether this click took it.
func (b *Bot) takeChoice(ctx context.Context, cb slack.InteractionCallback, id string) bool {
	n, err := b.rdb.Del(ctx, b.choiceKey(id)).Result()
	if err != nil {
		b.log.Error("take identity choice", "err", err)
		b.reply(ctx, cb.ResponseURL, "I could not record your answer (Redis did not "+
			"answer). Try again.")
		return false
	}
	if n == 0 {
		b.reply(ctx, cb.ResponseURL, "Someone already answered this question.")
		return false
	}
	return true
}

// markChosen replaces the buttons with who chose what.
func (b *Bot) markChosen(ctx context.Context, cb slack.InteractionCallback,
	c *identityChoice, chosen string) {
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	text := fmt.Sprintf("<@%s> chose the Jenkins user `%s` on %s.", cb.User.ID,
		esc(chosen), esc(c.Controller))
	_, _, _, err := b.api.UpdateMessageContext(ctx, c.Channel, ts,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(section("chosen", text, nil)))
	if err != nil {
		b.log.Error("update identity choice", "err", err)
	}
}

// choiceSnapshot lists the chosen user on the choice's controller only.
func (b *Bot) choiceSnapshot(ctx context.Context, lr listRequest, c *identityChoice,
	chosen string) *snapshot {
	snap := b.newSnapshot(lr)
	snap.Target, snap.TargetSlack, snap.TargetEmail = c.Target, c.TargetSlack, c.TargetEmail
	b.listInto(ctx, snap, map[string]string{c.Controller: chosen})
	if snap.TargetSlack == "" {
		snap.TargetSlack = b.slackUserFor(ctx, snap)
	}
	return snap
}
