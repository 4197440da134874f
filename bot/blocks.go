package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// Block Kit limits the listing works within (see Slack's Block Kit reference).
const (
	maxBlocksPerMessage = 50
	maxSectionText      = 3000
	maxNameRunes        = 120
	recentUse           = 7 * 24 * time.Hour
)

// Action ids of the buttons the bot posts.
const (
	actionRevokeToken     = "revoke_token"
	actionRevokeAll       = "revoke_all"
	actionRevokeAllEnd    = "revoke_all_sessions"
	actionApprove         = "approve"
	actionDeny            = "deny"
	actionCancel          = "cancel"
	actionRetry           = "retry"
	callbackDenyReason    = "deny_reason"
	blockDenyReason       = "reason"
	actionDenyReasonInput = "reason_input"
)

// resultKey indexes per-token results by controller and uuid.
func resultKey(controller, uuid string) string { return controller + "\x00" + uuid }

// listingView is what a listing message shows besides the snapshot.
type listingView struct {
	Now    time.Time
	DryRun bool
	// Results, when set, replace each token's button with its outcome.
	Results map[string]jenkins.TokenResult
	// Status, when set, replaces the revoke-all buttons with this line.
	Status string
}

// listingMessages renders a listing as one or more messages, each within
// Slack's block limit, so that any number of tokens can be shown.
func listingMessages(s *snapshot, v listingView) [][]slack.Block {
	head := listingHead(s, v)
	var body []slack.Block
	for ci, c := range s.Controllers {
		body = append(body, controllerBlocks(s, ci, c, v)...)
	}
	return paginate(head, body)
}

// paginate puts head on the first message and spreads body over as many
// messages as the block limit needs, each later one opened by a context line.
func paginate(head, body []slack.Block) [][]slack.Block {
	const room = maxBlocksPerMessage - 1 // one block for the "continued" line
	msgs := [][]slack.Block{head}
	for _, b := range body {
		last := len(msgs) - 1
		if len(msgs[last]) >= room {
			msgs = append(msgs, nil)
			last++
		}
		msgs[last] = append(msgs[last], b)
	}
	if len(msgs) > 1 {
		for i := 1; i < len(msgs); i++ {
			line := fmt.Sprintf("continued, part %d of %d", i+1, len(msgs))
			msgs[i] = append([]slack.Block{contextLine("cont", line)}, msgs[i]...)
		}
	}
	return msgs
}

func listingHead(s *snapshot, v listingView) []slack.Block {
	n := s.tokenCount()
	title := fmt.Sprintf(":key: *Jenkins API tokens of %s*: %s on %s",
		targetText(s), plural(n, "token"), plural(len(s.Controllers), "controller"))
	if v.DryRun {
		title += "\n:test_tube: *dry run*: nothing will be revoked"
	}
	blocks := []slack.Block{section("head", title, nil)}
	blocks = append(blocks, contextLine("by", fmt.Sprintf("listed for <@%s> at %s",
		s.Requester, stamp(s.Created))))
	switch {
	case v.Status != "":
		blocks = append(blocks, contextLine("status", v.Status))
	case n > 0:
		blocks = append(blocks, revokeAllActions(s, n))
	}
	return blocks
}

func targetText(s *snapshot) string {
	if s.TargetSlack != "" {
		return "<@" + s.TargetSlack + ">"
	}
	return "`" + esc(s.Target) + "`"
}

func revokeAllActions(s *snapshot, n int) slack.Block {
	confirm := confirmation("Revoke all tokens?",
		fmt.Sprintf("This asks an approver to revoke all %s shown here, on every "+
			"controller. Jobs using them will fail.", plural(n, "token")),
		"Ask for approval")
	all := slack.NewButtonBlockElement(actionRevokeAll, s.ID,
		plain("Revoke all")).WithStyle(slack.StyleDanger).WithConfirm(confirm)
	end := slack.NewButtonBlockElement(actionRevokeAllEnd, s.ID,
		plain("Revoke all and end web sessions")).WithStyle(slack.StyleDanger).
		WithConfirm(confirmation("Revoke all and end sessions?",
			fmt.Sprintf("This asks an approver to revoke all %s shown here and to "+
				"sign the person out of Jenkins' web UI everywhere.", plural(n, "token")),
			"Ask for approval"))
	return slack.NewActionBlock("revoke_all", all, end)
}

func controllerBlocks(s *snapshot, ci int, c controllerSnapshot, v listingView) []slack.Block {
	id := "c" + strconv.Itoa(ci)
	if c.Problem != "" {
		line := fmt.Sprintf(":x: *%s*: %s", esc(c.Controller), esc(c.Problem))
		return []slack.Block{section(id, line, nil)}
	}
	line := fmt.Sprintf("*%s*: Jenkins user `%s`, %s", esc(c.Controller),
		esc(c.JenkinsUser), plural(len(c.Tokens), "token"))
	if c.Guessed {
		line += "\n:grey_question: no Jenkins user has this person's email; this id " +
			"comes from the email's local part"
	}
	if c.HasLegacySecret {
		line += "\n:warning: a legacy token secret is still stored; revoking the " +
			"legacy token clears it"
	}
	if !c.StatsEnabled && len(c.Tokens) > 0 {
		line += "\nusage statistics are off on this controller: last use unknown"
	}
	blocks := []slack.Block{slack.NewDividerBlock(), section(id, line, nil)}
	for _, t := range c.Tokens {
		blocks = append(blocks, tokenBlock(s, ci, c, t, v))
	}
	return blocks
}

func tokenBlock(s *snapshot, ci int, c controllerSnapshot, t jenkins.Token,
	v listingView) slack.Block {
	text := tokenText(t, c.StatsEnabled, v.Now)
	blockID := "t" + strconv.Itoa(ci) + ":" + t.UUID
	if r, ok := v.Results[resultKey(c.Controller, t.UUID)]; ok {
		return section(blockID, text+"\n"+outcomeText(r, v.DryRun), nil)
	}
	if v.Status != "" {
		return section(blockID, text, nil)
	}
	name := truncate(t.Name, 60)
	btn := slack.NewButtonBlockElement(actionRevokeToken,
		s.ID+"|"+strconv.Itoa(ci)+"|"+t.UUID, plain("Revoke")).
		WithStyle(slack.StyleDanger).
		WithConfirm(confirmation("Revoke this token?",
			fmt.Sprintf("This asks an approver to revoke %q on %s.", name,
				truncate(c.Controller, 60)), "Ask for approval"))
	return section(blockID, text, slack.NewAccessory(btn))
}

// tokenText describes one token in at most a few short lines.
func tokenText(t jenkins.Token, stats bool, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*  `%s`", esc(truncate(t.Name, maxNameRunes)), shortUUID(t.UUID))
	if t.Legacy {
		b.WriteString("  _legacy_")
	}
	b.WriteString("\n")
	var facts []string
	if t.Created != nil {
		facts = append(facts, "created "+t.Created.UTC().Format("2006-01-02"))
	} else {
		facts = append(facts, "created before 2.129 (date unknown)")
	}
	switch {
	case !stats:
	case t.LastUsed != nil:
		facts = append(facts, fmt.Sprintf("last used %s (%s)", ago(now, *t.LastUsed),
			stamp(*t.LastUsed)), "used "+plural(t.UseCount, "time"))
	default:
		facts = append(facts, "never used")
	}
	if t.Expired {
		facts = append(facts, "expired "+t.Expires)
	} else if t.Expires != "" {
		facts = append(facts, "expires "+t.Expires)
	}
	b.WriteString(strings.Join(facts, " · "))
	if recentlyUsed(t, now) {
		b.WriteString("\n:warning: used in the last 7 days: revoking may break a running job")
	}
	return b.String()
}

func recentlyUsed(t jenkins.Token, now time.Time) bool {
	return t.LastUsed != nil && now.Sub(*t.LastUsed) < recentUse
}

func shortUUID(u string) string {
	if len(u) > 8 {
		return u[:8]
	}
	return u
}

// outcomeText says what happened to a token in words.
func outcomeText(r jenkins.TokenResult, dryRun bool) string {
	if dryRun && r.Outcome == jenkins.StillPresent {
		return ":test_tube: dry run: would be revoked"
	}
	var s string
	switch r.Outcome {
	case jenkins.Revoked:
		s = ":white_check_mark: revoked and verified gone"
	case jenkins.AlreadyGone:
		s = ":white_check_mark: already gone"
	case jenkins.StillPresent:
		s = ":x: still present after revoking"
	default:
		s = ":x: error"
	}
	if r.Detail != "" {
		s += ": " + esc(truncate(r.Detail, 300))
	}
	return s
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// mrkdwn builds verbatim text, so that Slack does not turn words such as
// @here or URLs into mentions or links on its own.
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncate(s, maxSectionText), false, true)
}

func section(id, text string, acc *slack.Accessory) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(text), nil, acc, slack.SectionBlockOptionBlockID(id))
}

func contextLine(id, text string) *slack.ContextBlock {
	return slack.NewContextBlock(id, mrkdwn(text))
}

func confirmation(title, text, confirm string) *slack.ConfirmationBlockObject {
	c := slack.NewConfirmationBlockObject(plain(truncate(title, 100)),
		plain(truncate(text, 300)), plain(confirm), plain("Keep"))
	return c.WithStyle(slack.StyleDanger)
}

// choiceBlocks asks which of several Jenkins users on one controller is
// the person, with one button per candidate.
func choiceBlocks(c identityChoice) []slack.Block {
	text := fmt.Sprintf(":busts_in_silhouette: %d Jenkins users on *%s* have the email "+
		"%s. Which one is %s?", len(c.Candidates), esc(c.Controller),
		esc(c.TargetEmail), choiceTarget(c))
	var buttons []slack.BlockElement
	for i, id := range c.Candidates {
		buttons = append(buttons, slack.NewButtonBlockElement(
			actionChoosePrefix+strconv.Itoa(i), c.ID+"|"+strconv.Itoa(i),
			plain(truncate(id, 75))))
	}
	return []slack.Block{section("choose", text, nil),
		slack.NewActionBlock("choices", buttons...)}
}

func choiceTarget(c identityChoice) string {
	if c.TargetSlack != "" {
		return "<@" + c.TargetSlack + ">"
	}
	return "`" + esc(c.Target) + "`"
}
