package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// command is a parsed /jenkins-tokens invocation.
type command struct {
	kind   string // "help", "pending", "audit" or "list"
	target Target
	err    error
}

// parseCommand reads the text after /jenkins-tokens.
func parseCommand(text string) command {
	words := strings.Fields(text)
	if len(words) == 0 {
		return command{kind: "help"}
	}
	switch strings.ToLower(words[0]) {
	case "help":
		return command{kind: "help"}
	case "pending":
		return command{kind: "pending"}
	case "audit":
		if len(words) != 2 {
			return command{kind: "audit", err: fmt.Errorf("usage: audit <person>")}
		}
		t, err := ParseTarget(words[1])
		return command{kind: "audit", target: t, err: err}
	}
	if len(words) > 1 {
		return command{kind: "list", err: fmt.Errorf("name one person at a time; "+
			"I read %d words", len(words))}
	}
	t, err := ParseTarget(words[0])
	return command{kind: "list", target: t, err: err}
}

const helpText = "*/jenkins-tokens* lists a person's Jenkins API tokens on every " +
	"controller and revokes them after a second person approves.\n" +
	"• `/jenkins-tokens alice`: by Jenkins id\n" +
	"• `/jenkins-tokens @alice`: by Slack user (matched through their email)\n" +
	"• `/jenkins-tokens alice@example.com`: by email\n" +
	"• `/jenkins-tokens pending`: requests waiting for approval\n" +
	"• `/jenkins-tokens audit alice`: the last audit events for that person"

func (b *Bot) onSlashCommand(ctx context.Context, evt socketmode.Event) {
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		return
	}
	if !b.fromOwnWorkspace(ctx, cmd.UserID, cmd.TeamID, "") {
		b.m.command("slash", "refused")
		return
	}
	log := b.log.With("slack_user", cmd.UserID)
	allowed, err := b.access.isRequester(ctx, cmd.UserID)
	if err != nil {
		b.m.command("slash", "error")
		log.Error("check requester", "err", err)
		b.reply(ctx, cmd.ResponseURL, "I could not check whether you may use this "+
			"command (Slack did not answer); nothing was looked up. Try again.")
		return
	}
	if !allowed {
		b.m.command("slash", "refused")
		log.Info("command refused", "reason", "not a requester")
		b.reply(ctx, cmd.ResponseURL, "Only the people and groups named in REQUESTERS "+
			"may use /jenkins-tokens. Nothing was looked up.")
		return
	}
	c := parseCommand(cmd.Text)
	b.m.command(c.kind, commandOutcome(c.err))
	if c.err != nil {
		b.reply(ctx, cmd.ResponseURL, c.err.Error()+"\n\n"+helpText)
		return
	}
	switch c.kind {
	case "help":
		b.reply(ctx, cmd.ResponseURL, helpText)
	case "pending":
		b.showPending(ctx, cmd.ResponseURL)
	case "audit":
		b.showAudit(ctx, cmd.ResponseURL, c.target)
	case "list":
		b.list(ctx, listRequest{
			Requester:   cmd.UserID,
			Channel:     cmd.ChannelID,
			ResponseURL: cmd.ResponseURL,
			Target:      c.target,
		})
	}
}

// reply answers the person who used a command or a button, visible to them
// only.
func (b *Bot) reply(ctx context.Context, responseURL, text string) {
	if responseURL == "" {
		return
	}
	_, _, err := b.api.PostMessageContext(ctx, "",
		slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionText(text, false))
	if err != nil {
		b.log.Error("reply", "err", err)
	}
}

func commandOutcome(err error) string {
	if err != nil {
		return "bad_input"
	}
	return "ok"
}
