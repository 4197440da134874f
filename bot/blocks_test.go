package bot

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func tp(t time.Time) *time.Time { return &t }

func goldenSnapshot() *snapshot {
	return &snapshot{
		ID: "11111111-2222-3333-4444-555555555555", Target: "alice", TargetSlack: "UALICE",
		Requester: "UREQ", Channel: "C1", Created: goldenNow,
		Controllers: []controllerSnapshot{
			{Controller: "ci-main", JenkinsUser: "alice", StatsEnabled: true,
				HasLegacySecret: true, Tokens: []jenkins.Token{
					{UUID: "0a1b2c3d-0000-0000-0000-000000000001", Name: "deploy <!channel>",
						Created: tp(goldenNow.AddDate(0, -3, 0)), UseCount: 42,
						LastUsed: tp(goldenNow.Add(-26 * time.Hour))},
					{UUID: "0a1b2c3d-0000-0000-0000-000000000002", Name: "Legacy Token",
						Legacy: true},
					{UUID: "0a1b2c3d-0000-0000-0000-000000000003", Name: "old laptop",
						Created: tp(goldenNow.AddDate(-1, 0, 0)), Expires: "2026-06-30",
						Expired: true},
				}},
			{Controller: "ci-legacy", Problem: "did not answer in time"},
		},
	}
}

func goldenRequest(state approvals.State) *approvals.Request {
	snap := goldenSnapshot()
	plan := planAll(snap)
	plan.EndSessions = true
	req := &approvals.Request{
		ID: "99999999-8888-7777-6666-555555555555", Requester: "UREQ",
		Target: approvals.Target{Label: "alice", SlackUser: "UALICE"},
		Plan:   plan, PlanHash: plan.Hash(), Created: goldenNow,
		Expires: goldenNow.Add(24 * time.Hour), Required: 1, State: state,
	}
	if state == approvals.Done || state == approvals.Failed {
		req.Approvals = []approvals.Approval{{By: "UAPP", At: goldenNow}}
		outcome := string(jenkins.Revoked)
		if state == approvals.Failed {
			outcome = string(jenkins.StillPresent)
		}
		for _, c := range plan.Controllers {
			for _, tok := range c.Tokens {
				req.Results = append(req.Results, approvals.TokenResult{
					Controller: c.Controller, JenkinsUser: c.JenkinsUser, UUID: tok.UUID,
					Name: tok.Name, Outcome: outcome})
			}
		}
	}
	if state == approvals.Denied {
		req.Denial = &approvals.Denial{By: "UAPP", Reason: "still on call <@UX> @here",
			At: goldenNow}
	}
	return req
}

// checkGolden compares blocks with testdata/<name>.json and, with -update,
// rewrites the file instead.
func checkGolden(t *testing.T, name string, blocks any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(blocks); err != nil {
		t.Fatal(err)
	}
	got := bytes.TrimSpace(buf.Bytes())
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(strings.TrimSpace(string(want)), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", name, diff)
	}
}

func TestGoldenLayouts(t *testing.T) {
	t.Parallel()
	view := approvalView{Now: goldenNow, ApproverGroup: "SAPPROVERS"}
	tests := map[string]any{
		"listing": listingMessages(goldenSnapshot(), listingView{Now: goldenNow}),
		"listing_dry_run": listingMessages(goldenSnapshot(),
			listingView{Now: goldenNow, DryRun: true}),
		"approval_pending": approvalBlocks(goldenRequest(approvals.Pending),
			goldenSnapshot(), view),
		"approval_done":   approvalBlocks(goldenRequest(approvals.Done), nil, view),
		"approval_failed": approvalBlocks(goldenRequest(approvals.Failed), nil, view),
		"approval_denied": approvalBlocks(goldenRequest(approvals.Denied), nil, view),
	}
	for name, blocks := range tests {
		checkGolden(t, name, blocks)
	}
}

// TestListingEscapesUserText checks that a token name cannot mention
// anyone: Slack's control characters are escaped and text is verbatim.
func TestListingEscapesUserText(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(listingMessages(goldenSnapshot(), listingView{Now: goldenNow})); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, bad := range []string{"<!channel>"} {
		if strings.Contains(s, bad) {
			t.Errorf("listing carries %q unescaped", bad)
		}
	}
	if !strings.Contains(s, "&lt;!channel&gt;") {
		t.Errorf("listing lost the escaped token name")
	}
	if strings.Contains(s, `"verbatim":false`) {
		t.Errorf("listing has mrkdwn text that Slack would parse for mentions")
	}
}

// TestListingPagesStayWithinLimits renders 300 tokens and checks every page
// against Slack's block limits.
func TestListingPagesStayWithinLimits(t *testing.T) {
	t.Parallel()
	snap := goldenSnapshot()
	var toks []jenkins.Token
	for i := range 300 {
		toks = append(toks, jenkins.Token{UUID: strings.Repeat("f", 8) +
			"-0000-0000-0000-" + padInt(i), Name: strings.Repeat("n", 200),
			Created: tp(goldenNow)})
	}
	snap.Controllers[0].Tokens = toks
	pages := listingMessages(snap, listingView{Now: goldenNow})
	shown := 0
	for i, p := range pages {
		if len(p) > maxBlocksPerMessage {
			t.Errorf("page %d has %d blocks", i, len(p))
		}
		for _, b := range p {
			if s, ok := b.(*slack.SectionBlock); ok {
				if n := len([]rune(s.Text.Text)); n > maxSectionText {
					t.Errorf("page %d: section of %d characters", i, n)
				}
				if s.Accessory != nil {
					shown++
				}
			}
		}
	}
	if shown != 300 {
		t.Errorf("listing shows %d revoke buttons, want 300", shown)
	}
	req := &approvals.Request{Plan: planAll(snap), Required: 1, State: approvals.Pending}
	if n := len(approvalBlocks(req, snap, approvalView{Now: goldenNow})); n > maxBlocksPerMessage {
		t.Errorf("approval message has %d blocks", n)
	}
}

func padInt(i int) string { return fmt.Sprintf("%012d", i) }
