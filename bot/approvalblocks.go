package bot

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// approvalView is what an approval message shows besides the request.
type approvalView struct {
	Now time.Time
	// ApproverGroup is mentioned on pending requests when set.
	ApproverGroup string
}

func (b *Bot) approvalView(*approvals.Request) approvalView {
	return approvalView{Now: b.now(), ApproverGroup: b.access.approverGroup()}
}

// maxPlanSections bounds the plan's share of the 50 blocks of a message.
const maxPlanSections = 30

// approvalBlocks renders a request: who asked, for whom, the exact plan,
// recent-use warnings from the listing, and the buttons its state allows.
// snap may be nil when the listing is gone.
func approvalBlocks(req *approvals.Request, snap *snapshot, v approvalView) []slack.Block {
	blocks := []slack.Block{section("req", requestTitle(req), nil)}
	blocks = append(blocks, planBlocks(req)...)
	if w := recentWarning(req, snap, v.Now); w != "" && req.State == approvals.Pending {
		blocks = append(blocks, section("warn", w, nil))
	}
	blocks = append(blocks, contextLine("meta", requestMeta(req, v)))
	return append(blocks, stateBlocks(req)...)
}

func requestTitle(req *approvals.Request) string {
	who := "the bot"
	if req.Requester != "bot" {
		who = "<@" + req.Requester + ">"
	}
	target := "`" + esc(req.Target.Label) + "`"
	if req.Target.SlackUser != "" {
		target = "<@" + req.Target.SlackUser + ">"
	}
	s := fmt.Sprintf(":rotating_light: *Revocation request*: %s asks to revoke %s of %s",
		who, plural(planSize(req.Plan), "Jenkins API token"), target)
	if req.Plan.EndSessions {
		s += " and to end their Jenkins web sessions"
	}
	if req.DryRun {
		s += "\n:test_tube: *dry run*: nothing will be revoked"
	}
	return s
}

// planBlocks lists every planned token, several per section, within the
// section text limit; beyond maxPlanSections it says how many more there are.
func planBlocks(req *approvals.Request) []slack.Block {
	results := map[string]approvals.TokenResult{}
	for _, r := range req.Results {
		results[resultID(r.Controller, r.UUID)] = r
	}
	var lines []string
	for _, c := range req.Plan.Controllers {
		lines = append(lines, fmt.Sprintf("*%s*, Jenkins user `%s`:", esc(c.Controller),
			esc(c.JenkinsUser)))
		for _, t := range c.Tokens {
			lines = append(lines, planLine(t, results[resultID(c.Controller, t.UUID)], req.DryRun))
		}
		if r, ok := results[resultID(c.Controller, sessionsUUID)]; ok {
			lines = append(lines, "• web sessions: "+outcomeWords(r, req.DryRun))
		}
	}
	return chunkSections("plan", lines, maxPlanSections)
}

func planLine(t approvals.PlannedToken, r approvals.TokenResult, dryRun bool) string {
	s := fmt.Sprintf("• %s `%s`", esc(truncate(t.Name, maxNameRunes)), shortUUID(t.UUID))
	if t.Legacy {
		s += " _legacy_"
	}
	if r.Outcome != "" {
		s += ": " + outcomeWords(r, dryRun)
	}
	return s
}

func outcomeWords(r approvals.TokenResult, dryRun bool) string {
	return outcomeText(jenkins.TokenResult{UUID: r.UUID, Name: r.Name,
		Outcome: jenkins.Outcome(r.Outcome), Detail: r.Detail}, dryRun)
}

// chunkSections packs lines into sections of at most maxSectionText
// characters, and at most max sections.
func chunkSections(id string, lines []string, max int) []slack.Block {
	var blocks []slack.Block
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			blocks = append(blocks, section(fmt.Sprintf("%s%d", id, len(blocks)), cur.String(), nil))
			cur.Reset()
		}
	}
	for i, l := range lines {
		if len(blocks) == max-1 && cur.Len()+len(l)+1 > maxSectionText-40 {
			cur.WriteString(fmt.Sprintf("\n…and %d more lines", len(lines)-i))
			break
		}
		if cur.Len()+len(l)+1 > maxSectionText {
			flush()
		}
		if cur.Len() > 0 {
			cur.WriteString("\n")
		}
		cur.WriteString(l)
	}
	flush()
	return blocks
}

// recentWarning names the planned tokens the listing showed as used in the
// last seven days.
func recentWarning(req *approvals.Request, snap *snapshot, now time.Time) string {
	if snap == nil {
		return ""
	}
	planned := plannedNames(req)
	var names []string
	for _, c := range snap.Controllers {
		for _, t := range c.Tokens {
			if _, ok := planned[resultID(c.Controller, t.UUID)]; ok && recentlyUsed(t, now) {
				names = append(names, esc(truncate(t.Name, 60)))
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	if len(names) > 20 {
		names = append(names[:20], fmt.Sprintf("and %d more", len(names)-20))
	}
	return fmt.Sprintf(":warning: %s used in the last 7 days (a running job may "+
		"break): %s", plural(len(names), "token was"), strings.Join(names, ", "))
}

func requestMeta(req *approvals.Request, v approvalView) string {
	parts := []string{fmt.Sprintf("needs %s", plural(req.Required, "approval"))}
	if v.ApproverGroup != "" && req.State == approvals.Pending {
		parts[0] += " from <!subteam^" + v.ApproverGroup + ">"
	}
	if len(req.Approvals) > 0 {
		var by []string
		for _, a := range req.Approvals {
			by = append(by, "<@"+a.By+">")
		}
		parts = append(parts, "approved by "+strings.Join(by, ", "))
	}
	if req.State == approvals.Pending {
		parts = append(parts, "expires "+slackDate(req.Expires))
	}
	parts = append(parts, "request "+req.ID)
	return strings.Join(parts, " · ")
}

// stateBlocks are the buttons a pending or failed request offers, or the
// line saying how it ended.
func stateBlocks(req *approvals.Request) []slack.Block {
	switch req.State {
	case approvals.Pending:
		return []slack.Block{pendingActions(req)}
	case approvals.Approved, approvals.Executing:
		return []slack.Block{contextLine("state",
			":hourglass_flowing_sand: approved; revoking and verifying…")}
	case approvals.Done:
		return []slack.Block{contextLine("state", ":white_check_mark: "+summaryText(req))}
	case approvals.Failed:
		retry := slack.NewButtonBlockElement(actionRetry, req.ID, plain("Retry failed tokens")).
			WithStyle(slack.StylePrimary)
		return []slack.Block{
			contextLine("state", ":x: "+summaryText(req)),
			slack.NewActionBlock("failed", retry),
		}
	case approvals.Denied:
		line := ":no_entry: denied"
		if req.Denial != nil {
			line = fmt.Sprintf(":no_entry: denied by <@%s>: %s", req.Denial.By,
				esc(truncate(req.Denial.Reason, 1000)))
		}
		return []slack.Block{contextLine("state", line)}
	case approvals.Cancelled:
		return []slack.Block{contextLine("state", ":heavy_multiplication_x: cancelled by the requester")}
	case approvals.Expired:
		return []slack.Block{contextLine("state", fmt.Sprintf(":alarm_clock: expired at %s "+
			"without enough approvals; nothing was revoked", stamp(req.Expires)))}
	}
	return nil
}

func pendingActions(req *approvals.Request) slack.Block {
	approve := slack.NewButtonBlockElement(actionApprove, approveValue(req), plain("Approve")).
		WithStyle(slack.StylePrimary).
		WithConfirm(slack.NewConfirmationBlockObject(plain("Approve this revocation?"),
			plain(truncate(fmt.Sprintf("The bot will revoke %s of %s right away.",
				plural(planSize(req.Plan), "token"), req.Target.Label), 300)),
			plain("Approve"), plain("Back")))
	deny := slack.NewButtonBlockElement(actionDeny, req.ID, plain("Deny")).
		WithStyle(slack.StyleDanger)
	cancel := slack.NewButtonBlockElement(actionCancel, req.ID, plain("Cancel"))
	return slack.NewActionBlock("decide", approve, deny, cancel)
}
