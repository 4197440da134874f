package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// The status of one check.
const (
	statusOK   = "OK"
	statusWarn = "WARN"
	statusFail = "FAIL"
	statusSkip = "SKIP"
)

// checkRow is one line of the check table. Detail never holds a secret.
type checkRow struct {
	Component string
	Target    string
	Status    string
	Detail    string
}

// check validates the configuration and then every connection, prints one
// table to out, and returns an error when any row is FAIL.
func check(ctx context.Context, args []string, getenv func(string) string,
	out io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(out)
	timeout := fs.Duration("timeout", 10*time.Second, "time allowed for each connection")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return errors.New("check: --timeout must be positive")
	}
	rows := checkAll(ctx, getenv, *timeout)
	if err := printRows(out, rows); err != nil {
		return fmt.Errorf("write check table: %w", err)
	}
	return checkOutcome(out, rows)
}

// checkAll checks the configuration, and the connections only when it is
// valid: with an invalid configuration they would fail for the same reason.
func checkAll(ctx context.Context, getenv func(string) string,
	timeout time.Duration) []checkRow {
	c, err := loadConfig(getenv)
	if err != nil {
		rows := configRows(err)
		return append(rows, checkRow{"connections", "-", statusSkip,
			"not checked until the configuration is valid"})
	}
	rows := []checkRow{{"config", "environment", statusOK, configSummary(c)}}
	return append(rows, checkConnections(ctx, c, timeout)...)
}

// configRows turns loadConfig's error into one FAIL row per problem.
func configRows(err error) []checkRow {
	var problems configErrors
	if !errors.As(err, &problems) {
		return []checkRow{{"config", "environment", statusFail, err.Error()}}
	}
	rows := make([]checkRow, 0, len(problems))
	for _, p := range problems {
		rows = append(rows, checkRow{"config", "environment", statusFail, p})
	}
	return rows
}

func configSummary(c *config) string {
	dry := "off"
	if c.DryRun {
		dry = "on: nothing is revoked"
	}
	return fmt.Sprintf("%d controller(s), %d requester(s), %d approver(s), "+
		"%d approval(s) required, requests expire after %s, dry run %s",
		len(c.Controllers), len(c.Requesters), len(c.Approvers),
		c.ApprovalsRequired, c.ApprovalTTL, dry)
}

// checkConnections runs every connection check at once, each within timeout,
// and returns the rows in a fixed order: Slack, Redis, then controllers.
func checkConnections(ctx context.Context, c *config, timeout time.Duration) []checkRow {
	checks := []func(context.Context, *config) []checkRow{
		checkSlackBot, checkSlackApp, checkRedis, checkJenkins,
	}
	results := make([][]checkRow, len(checks))
	var wg sync.WaitGroup
	for i, fn := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = fn(ctx, c)
		})
	}
	wg.Wait()
	var rows []checkRow
	for _, r := range results {
		rows = append(rows, r...)
	}
	return rows
}

// checkSlackBot calls auth.test with the bot token.
func checkSlackBot(ctx context.Context, c *config) []checkRow {
	row := checkRow{"slack", "bot token (auth.test)", statusFail, ""}
	res, err := newSlack(c).AuthTestContext(ctx)
	if err != nil {
		row.Detail = slackProblem(err, "SLACK_BOT_TOKEN", "copy the Bot User OAuth "+
			"Token (xoxb-) from OAuth & Permissions, or reinstall the app")
		return []checkRow{row}
	}
	row.Status = statusOK
	row.Detail = fmt.Sprintf("workspace %s (%s), bot user @%s (%s)",
		res.Team, res.TeamID, res.User, res.UserID)
	return []checkRow{row}
}

// checkSlackApp calls apps.connections.open with the app-level token, which
// proves the token and that Socket Mode is on. The returned URL is not dialed.
func checkSlackApp(ctx context.Context, c *config) []checkRow {
	row := checkRow{"slack", "app token (apps.connections.open)", statusFail, ""}
	_, _, err := socketmode.New(newSlack(c)).OpenContext(ctx)
	if err != nil {
		row.Detail = slackProblem(err, "SLACK_APP_TOKEN", "create an app-level "+
			"token (xapp-) with connections:write under Basic Information, and "+
			"switch Socket Mode on")
		return []checkRow{row}
	}
	row.Status = statusOK
	row.Detail = "Socket Mode is enabled and the app-level token is accepted"
	return []checkRow{row}
}

// slackProblem says what a Slack error means for the token in variable name.
func slackProblem(err error, name, fix string) string {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		if ctxErr := contextProblem(err); ctxErr != "" {
			return "Slack did not answer: " + ctxErr
		}
		return "cannot reach Slack: " + err.Error() + ": check SLACK_API_URL, " +
			"DNS and any proxy"
	}
	switch se.Err {
	case "invalid_auth", "not_authed":
		return fmt.Sprintf("Slack refused %s (%s): %s", name, se.Err, fix)
	case "not_allowed_token_type":
		return fmt.Sprintf("%s is the wrong kind of token (%s): %s", name, se.Err, fix)
	case "account_inactive", "token_revoked", "token_expired":
		return fmt.Sprintf("%s no longer works (%s): the app was uninstalled or the "+
			"token revoked; %s", name, se.Err, fix)
	}
	return fmt.Sprintf("Slack answered %s for %s: %s", se.Err, name, fix)
}

func contextProblem(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out (see --timeout)"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return ""
}

// checkRedis pings REDIS_URL, or explains the embedded store when it is empty.
func checkRedis(ctx context.Context, c *config) []checkRow {
	if c.RedisURL == "" {
		return []checkRow{{"redis", "embedded", statusWarn, "REDIS_URL is empty: " +
			"an in-process store will be used; pending requests and the audit trail " +
			"are lost on restart and a second replica cannot share them. Set " +
			"REDIS_URL for production"}}
	}
	opt, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		// The parse error may quote the URL, and with it a password.
		return []checkRow{{"redis", "REDIS_URL", statusFail, "REDIS_URL is not a valid " +
			"redis URL: use redis://[:password@]host:port/db or rediss://…"}}
	}
	row := checkRow{"redis", fmt.Sprintf("%s db %d", opt.Addr, opt.DB), statusFail, ""}
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		row.Detail = redisProblem(err)
		return []checkRow{row}
	}
	row.Status = statusOK
	row.Detail = "answered PING; pending requests and the audit trail live here"
	return []checkRow{row}
}

func redisProblem(err error) string {
	if p := contextProblem(err); p != "" {
		return "Redis did not answer: " + p
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "NOAUTH"), strings.Contains(msg, "WRONGPASS"):
		return "Redis refused the credentials: check the password in REDIS_URL"
	}
	return "cannot reach Redis: " + msg + ": check the host, port and firewall"
}

// checkJenkins runs Fleet.Preflight: account, Overall/Administer, version.
func checkJenkins(ctx context.Context, c *config) []checkRow {
	fleet, err := newFleet(c)
	if err != nil {
		return []checkRow{{"jenkins", "controllers", statusFail, err.Error()}}
	}
	targets := map[string]string{}
	for _, cc := range c.Controllers {
		targets[cc.Name] = fmt.Sprintf("%s (%s)", cc.Name, redactURL(cc.URL))
	}
	var rows []checkRow
	for _, h := range fleet.Preflight(ctx) {
		rows = append(rows, healthRow(h, targets[h.Controller]))
	}
	return rows
}

func healthRow(h jenkins.Health, target string) checkRow {
	row := checkRow{"jenkins", target, statusOK, ""}
	version := h.Version
	if version == "" {
		version = "unknown"
	}
	if !h.Usable {
		row.Status = statusFail
		row.Detail = h.Problem
		if h.Version != "" {
			row.Detail += " (Jenkins " + h.Version + ")"
		}
		return row
	}
	row.Detail = fmt.Sprintf("account %s holds Overall/Administer, Jenkins %s",
		h.Account, version)
	return row
}

// redactURL hides any password written into a controller URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "unparsable URL"
	}
	return u.Redacted()
}

// printRows writes the rows as an aligned table.
func printRows(out io.Writer, rows []checkRow) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tTARGET\tSTATUS\tDETAIL")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Component, r.Target, r.Status,
			oneLine(r.Detail))
	}
	return tw.Flush()
}

// oneLine keeps a detail on its row: tabs and line breaks would break the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// checkOutcome prints the summary and returns an error when a row failed.
func checkOutcome(out io.Writer, rows []checkRow) error {
	failed := 0
	for _, r := range rows {
		if r.Status == statusFail {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("check: %d problem(s) found; see the FAIL rows above", failed)
	}
	_, err := fmt.Fprintf(out, "\nall %d checks passed\n", len(rows))
	return err
}
