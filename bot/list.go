package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// listRequest asks for a person's listing to be posted in a channel or
// thread.
type listRequest struct {
	Requester   string
	Channel     string
	ThreadTS    string
	ResponseURL string
	Target      Target
}

func newID() string { return uuid.NewString() }

// nameHint says how to name a Jenkins id directly where the person is:
// slash commands cannot be used in threads.
func (lr listRequest) nameHint() string {
	if lr.ThreadTS != "" {
		return "`@jenkins-tokens offboard <jenkins-id>` in this thread"
	}
	return "`/jenkins-tokens <jenkins-id>`"
}

// list resolves the target on every controller, lists their tokens, and
// posts the listing with its buttons, then asks which Jenkins user is meant
// where several share the person's email.
func (b *Bot) list(ctx context.Context, lr listRequest) {
	log := b.log.With("slack_user", lr.Requester, "target", lr.Target.String())
	snap, choices, err := b.resolve(ctx, lr)
	if err != nil {
		log.Info("target not resolved", "err", err)
		b.tell(ctx, lr, err.Error())
		return
	}
	if b.publish(ctx, lr, snap) {
		b.askChoices(ctx, lr, choices)
	}
}

// publish stores a listing and posts it, telling the requester when that
// fails. It reports whether the listing was posted.
func (b *Bot) publish(ctx context.Context, lr listRequest, snap *snapshot) bool {
	log := b.log.With("slack_user", lr.Requester, "target", snap.Target)
	if err := b.snaps.save(ctx, snap); err != nil {
		log.Error("save listing", "err", err)
		b.tell(ctx, lr, "I could not store the listing (Redis did not answer), so its "+
			"buttons would not work. Nothing was changed. Try again.")
		return false
	}
	if err := b.postListing(ctx, snap); err != nil {
		log.Error("post listing", "err", err)
		b.tell(ctx, lr, slackProblem("post the listing here", err))
		return false
	}
	log.Info("listed", "tokens", snap.tokenCount(), "listing_id", snap.ID)
	return true
}

// tell answers the requester privately: through the command's response_url
// when there is one, else as an ephemeral message in the channel.
func (b *Bot) tell(ctx context.Context, lr listRequest, text string) {
	if lr.ResponseURL != "" {
		b.reply(ctx, lr.ResponseURL, text)
		return
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if lr.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(lr.ThreadTS))
	}
	if _, err := b.api.PostEphemeralContext(ctx, lr.Channel, lr.Requester, opts...); err != nil {
		b.log.Error("post ephemeral", "err", err)
	}
}

// resolve turns the target into Jenkins users and lists their tokens. It
// fails only when the target cannot be resolved at all; per-controller
// problems are part of the snapshot.
func (b *Bot) resolve(ctx context.Context, lr listRequest) (*snapshot, []identityChoice,
	error) {
	snap := b.newSnapshot(lr)
	var ids map[string]string
	var choices []identityChoice
	switch lr.Target.Kind {
	case SlackUser:
		email, name, err := b.slackEmail(ctx, lr.Target.Value, lr.nameHint())
		if err != nil {
			return nil, nil, err
		}
		snap.Target, snap.TargetSlack, snap.TargetEmail = name, lr.Target.Value, email
		ids, choices = b.idsByEmail(ctx, snap, email, lr.nameHint())
	case Email:
		snap.TargetEmail = lr.Target.Value
		ids, choices = b.idsByEmail(ctx, snap, lr.Target.Value, lr.nameHint())
	default:
		ids = map[string]string{}
		for _, name := range b.fleet.Names() {
			ids[name] = lr.Target.Value
		}
	}
	b.listInto(ctx, snap, ids)
	if snap.TargetSlack == "" {
		snap.TargetSlack = b.slackUserFor(ctx, snap)
	}
	return snap, choices, nil
}

// newSnapshot starts an empty listing for lr.
func (b *Bot) newSnapshot(lr listRequest) *snapshot {
	return &snapshot{
		ID:        newID(),
		Target:    lr.Target.Value,
		Requester: lr.Requester,
		Channel:   lr.Channel,
		ThreadTS:  lr.ThreadTS,
		Created:   b.now().UTC(),
	}
}

// slackEmail reads a Slack user's email and display name.
func (b *Bot) slackEmail(ctx context.Context, user, hint string) (string, string, error) {
	u, err := b.api.GetUserInfoContext(ctx, user)
	if err != nil {
		if isSlackError(err, "user_not_found") {
			return "", "", say("Slack has no user <@%s>", user)
		}
		return "", "", errors.New(slackProblem("look up that Slack user", err))
	}
	if u.IsBot {
		return "", "", fmt.Errorf("<@%s> is a bot, not a person", user)
	}
	if u.Profile.Email == "" {
		return "", "", say("Slack did not give me the email of <@%s> (the app "+
			"needs the users:read.email scope), so I cannot find their Jenkins "+
			"accounts. Name their Jenkins id instead: %s", user, esc(hint))
	}
	return strings.ToLower(u.Profile.Email), u.Name, nil
}

// idsByEmail finds, per controller, the one Jenkins user with that email,
// or, with JenkinsIDFromEmail, the user named by its local part. A
// controller with none gets a problem in the snapshot; one with several
// gets a problem and a choice to ask the people in the thread.
func (b *Bot) idsByEmail(ctx context.Context, snap *snapshot, email, hint string) (
	map[string]string, []identityChoice) {
	ids := map[string]string{}
	var choices []identityChoice
	for _, cu := range b.fleet.FindUsersByEmail(ctx, email) {
		switch {
		case cu.Err != nil:
			snap.addProblem(cu.Controller, jenkinsProblem(cu.Err))
		case len(cu.Users) == 0:
			id, problem := b.idByLocalPart(ctx, cu.Controller, email)
			if problem != "" {
				snap.addProblem(cu.Controller, problem+"; name the Jenkins id "+
					"directly: "+hint)
				continue
			}
			ids[cu.Controller] = id
			if snap.guessed == nil {
				snap.guessed = map[string]bool{}
			}
			snap.guessed[cu.Controller] = true
		case len(cu.Users) > 1:
			snap.addProblem(cu.Controller, fmt.Sprintf("%d Jenkins users have the "+
				"email %s (%s): choose one below", len(cu.Users), email,
				userIDs(cu.Users)))
			choices = append(choices, newIdentityChoice(snap, cu))
		default:
			ids[cu.Controller] = cu.Users[0].ID
		}
	}
	return ids, choices
}

func (s *snapshot) addProblem(controller, problem string) {
	s.Controllers = append(s.Controllers,
		controllerSnapshot{Controller: controller, Problem: problem})
}

func userIDs(users []jenkins.User) string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return strings.Join(ids, ", ")
}

// listInto lists tokens on the controllers in ids and adds them to snap in
// the configured controller order.
func (b *Bot) listInto(ctx context.Context, snap *snapshot, ids map[string]string) {
	byName := map[string]controllerSnapshot{}
	for _, c := range snap.Controllers {
		byName[c.Controller] = c
	}
	for _, cl := range b.fleet.ListTokensFor(ctx, ids) {
		c := controllerListing(cl, ids[cl.Controller])
		c.Guessed = snap.guessed[cl.Controller]
		byName[cl.Controller] = c
		if snap.TargetEmail == "" && cl.Err == nil {
			snap.TargetEmail = strings.ToLower(cl.Listing.User.Email)
		}
	}
	snap.Controllers = snap.Controllers[:0]
	for _, name := range b.fleet.Names() {
		if c, ok := byName[name]; ok {
			snap.Controllers = append(snap.Controllers, c)
		}
	}
}

func controllerListing(cl jenkins.ControllerListing, id string) controllerSnapshot {
	c := controllerSnapshot{Controller: cl.Controller, JenkinsUser: id}
	if errors.Is(cl.Err, jenkins.ErrUserNotFound) {
		c.Problem = "no Jenkins user with the id " + id
		return c
	}
	if cl.Err != nil {
		c.Problem = jenkinsProblem(cl.Err)
		return c
	}
	c.JenkinsUser = cl.Listing.User.ID
	c.Tokens = cl.Listing.Tokens
	c.HasLegacySecret = cl.Listing.HasLegacySecret
	c.StatsEnabled = cl.Listing.StatsEnabled
	return c
}

// slackUserFor finds the Slack account of the person whose Jenkins users
// were listed, through their Jenkins email, so that the store can stop
// them from acting on their own offboarding.
func (b *Bot) slackUserFor(ctx context.Context, snap *snapshot) string {
	email := snap.TargetEmail
	if email == "" {
		return ""
	}
	u, err := b.api.GetUserByEmailContext(ctx, email)
	if err != nil {
		return ""
	}
	return u.ID
}

// postListing posts every page of a listing and records where they went.
func (b *Bot) postListing(ctx context.Context, snap *snapshot) error {
	pages := listingMessages(snap, listingView{Now: b.now(), DryRun: b.cfg.DryRun})
	for i, blocks := range pages {
		opts := []slack.MsgOption{
			slack.MsgOptionText(listingFallback(snap, i, len(pages)), false),
			slack.MsgOptionBlocks(blocks...),
		}
		if snap.ThreadTS != "" {
			opts = append(opts, slack.MsgOptionTS(snap.ThreadTS))
		}
		_, ts, err := b.api.PostMessageContext(ctx, snap.Channel, opts...)
		if err != nil {
			return err
		}
		snap.Messages = append(snap.Messages, ts)
	}
	return b.snaps.save(ctx, snap)
}

func listingFallback(snap *snapshot, page, pages int) string {
	s := fmt.Sprintf("Jenkins API tokens of %s", esc(snap.Target))
	if pages > 1 {
		s += fmt.Sprintf(" (part %d of %d)", page+1, pages)
	}
	return s
}
