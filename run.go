package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/bot"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// run dispatches the subcommand in args. Results go to out; the bot's logs
// go to out too, as is usual for a service; notes for a person at a
// terminal go to errOut.
func run(ctx context.Context, args []string, getenv func(string) string,
	out, errOut io.Writer) error {
	if len(args) >= 2 && args[0] == "audit" && args[1] == "export" {
		return auditExport(ctx, args[2:], getenv, out, errOut)
	}
	if len(args) > 0 && args[0] == "check" {
		return check(ctx, args[1:], getenv, out)
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q: run with no arguments, \"check "+
			"[--timeout DURATION]\", or \"audit export [--since DURATION] "+
			"[--target ID]\"", strings.Join(args, " "))
	}
	return serve(ctx, getenv, out)
}

func newLogger(c *config, out io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(out, opts))
	}
	return slog.New(slog.NewJSONHandler(out, opts))
}

// serve runs the bot, and its HTTP endpoints, until ctx ends.
func serve(ctx context.Context, getenv func(string) string, out io.Writer) error {
	c, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(c, out)
	store, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer store.Close()
	reg := prometheus.NewRegistry()
	metrics := bot.NewMetrics(reg)
	fleet, err := fleetFor(c, metrics)
	if err != nil {
		return err
	}
	b, err := bot.New(bot.Config{
		Requesters:        c.Requesters,
		Approvers:         c.Approvers,
		DryRun:            c.DryRun,
		ApprovalsRequired: c.ApprovalsRequired,
		AuditChannel:      c.AuditChannel,
		Metrics:           metrics,

		OffboardingChannels:       c.OffboardingChannels,
		OffboardingKeywords:       c.OffboardingKeywords,
		JenkinsIDFromEmail:        c.JenkinsIDFromEmail,
		AutoRequestOnDeactivation: c.AutoRequestOnDeactivation,
	}, slackFor(c, metrics), fleet, store, store.Redis(), log)
	if err != nil {
		return err
	}
	h := newHealth(b, store, fleet, log)
	srv, err := h.listen(ctx, c.HTTPAddr, reg)
	if err != nil {
		return err
	}
	log.Info("starting", "controllers", len(c.Controllers), "dry_run", c.DryRun,
		"http_addr", srv.Addr)
	runErr := b.Run(ctx)
	shutdown(srv, log)
	if runErr == nil {
		log.Info("stopped")
	}
	return runErr
}

func openStore(ctx context.Context, c *config, log *slog.Logger) (*approvals.Store, error) {
	store, err := approvals.Open(ctx, c.RedisURL, approvals.Options{
		Required:   c.ApprovalsRequired,
		DefaultTTL: c.ApprovalTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("open approvals store: %w", err)
	}
	if store.Embedded() {
		log.Warn("REDIS_URL is empty: using an embedded store; its state is lost on " +
			"restart and cannot be shared by replicas")
	}
	return store, nil
}

func newFleet(c *config) (*jenkins.Fleet, error) { return fleetFor(c, nil) }

// fleetFor builds the controllers' clients, recording call latency in m.
func fleetFor(c *config, m *bot.Metrics) (*jenkins.Fleet, error) {
	clients := make([]*jenkins.Client, 0, len(c.Controllers))
	for _, cc := range c.Controllers {
		cc.Observe = m.JenkinsObserver(cc.Name)
		cl, err := jenkins.NewClient(cc)
		if err != nil {
			return nil, fmt.Errorf("controller %s: %w", cc.Name, err)
		}
		clients = append(clients, cl)
	}
	return jenkins.NewFleet(clients, 30*time.Second)
}

func newSlack(c *config) *slack.Client { return slackFor(c, nil) }

// slackFor builds the Slack client, counting its calls in m.
func slackFor(c *config, m *bot.Metrics) *slack.Client {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: m.SlackTransport(nil)}
	opts := []slack.Option{
		slack.OptionAppLevelToken(c.AppToken.Reveal()),
		slack.OptionHTTPClient(hc),
		slack.OptionRetry(3),
	}
	if c.SlackAPIURL != "" {
		opts = append(opts, slack.OptionAPIURL(c.SlackAPIURL))
	}
	return slack.New(c.BotToken.Reveal(), opts...)
}

// auditExport writes the audit trail as JSON lines and verifies its chain.
func auditExport(ctx context.Context, args []string, getenv func(string) string,
	out, errOut io.Writer) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	since := fs.Duration("since", 0, "only events newer than this, e.g. 720h")
	target := fs.String("target", "", "only events about this person")
	if err := fs.Parse(args); err != nil {
		return err
	}
	redisURL := getenv("REDIS_URL")
	if redisURL == "" {
		return errors.New("audit export: REDIS_URL is required (the embedded store " +
			"keeps nothing between runs)")
	}
	store, err := approvals.Open(ctx, redisURL, approvals.Options{})
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	defer store.Close()
	q := approvals.EventQuery{Target: *target}
	if *since > 0 {
		q.Since = time.Now().Add(-*since)
	}
	events, err := store.Events(ctx, q)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if err := approvals.WriteJSONLines(out, events); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return verifyChain(ctx, store, errOut)
}

func verifyChain(ctx context.Context, store *approvals.Store, errOut io.Writer) error {
	res, err := store.Verify(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if res.BrokenAt != "" {
		return fmt.Errorf("audit verify: chain broken at event %s: %s", res.BrokenAt,
			res.Reason)
	}
	fmt.Fprintf(errOut, "audit chain verified: %d events\n", res.Checked)
	return nil
}
