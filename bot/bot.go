package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// Config holds the bot's settings. Zero durations take the defaults named on
// each field.
type Config struct {
	// Requesters and Approvers are Slack user ids (U…, W…) and user group
	// ids (S…). Both must be set.
	Requesters []string
	Approvers  []string
	// ApprovalsRequired is how many approvers a person's request needs
	// (the store's default); a request the bot opens itself needs one more.
	// Default 1.
	ApprovalsRequired int
	// DryRun runs everything except the revoke and session calls.
	DryRun bool
	// AuditChannel, when set, receives one line per audit event.
	AuditChannel string
	// ReplicaID names this process in execution leases; default random.
	ReplicaID string
	// Workers bounds the envelopes handled at once; default 16.
	Workers int
	// Lease is how long an execution claim lasts before another replica may
	// take it over; default 2 minutes.
	Lease time.Duration
	// SweepEvery is how often expired requests are looked for; default 30s.
	SweepEvery time.Duration
	// Metrics, when set, records what the bot does.
	Metrics *Metrics
	// ShutdownGrace is how long running work may go on after shutdown
	// starts; an execution still running then gives its lease back, so that
	// another replica finishes it. Default 20 seconds.
	ShutdownGrace time.Duration
	// KeyPrefix prefixes the bot's own Redis keys; default "jtbot:".
	KeyPrefix string
	// ListingTTL is how long a listing's buttons stay usable; default 7 days.
	ListingTTL time.Duration
	// DedupTTL is how long a delivered envelope is remembered; default 1h.
	DedupTTL time.Duration
	// GroupCacheTTL bounds how stale a user group's membership may be;
	// default one minute.
	GroupCacheTTL time.Duration
	// OffboardingChannels are the channel ids the bot watches for
	// offboarding talk. Any person posting there may get a listing; the
	// first one also receives the listings of deactivated Slack accounts.
	OffboardingChannels []string
	// OffboardingKeywords are the words that, next to a mention or an email
	// in a watched channel, start a listing. They match case-insensitively
	// at the start of a word; default leaving, offboard, last day,
	// termination, departure.
	OffboardingKeywords []string
	// JenkinsIDFromEmail, when "localpart", maps alice@example.com to the
	// Jenkins id alice on a controller where no Mailer address matches and
	// that user exists; empty turns the rule off.
	JenkinsIDFromEmail string
	// AutoRequestOnDeactivation makes the bot open the approval request
	// itself (requester "bot") when a deactivated Slack account still has
	// tokens. Approvers must still approve.
	AutoRequestOnDeactivation bool
	// MessageDedupTTL is how long a Slack message that was answered is
	// remembered, so that it gets one reply; default 1h.
	MessageDedupTTL time.Duration
	// DeactivationDedupTTL is how long a deactivation that was handled is
	// remembered; default 24h.
	DeactivationDedupTTL time.Duration
	// ChoiceTTL is how long the buttons that pick one of several Jenkins
	// users stay usable; default 1h.
	ChoiceTTL time.Duration
}

func (c *Config) setDefaults() {
	if c.ApprovalsRequired <= 0 {
		c.ApprovalsRequired = 1
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = 30 * time.Second
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = "jtbot:"
	}
	if c.ListingTTL <= 0 {
		c.ListingTTL = 7 * 24 * time.Hour
	}
	if c.DedupTTL <= 0 {
		c.DedupTTL = time.Hour
	}
	if c.GroupCacheTTL <= 0 || c.GroupCacheTTL > time.Minute {
		c.GroupCacheTTL = time.Minute
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 20 * time.Second
	}
	if c.ReplicaID == "" {
		c.ReplicaID = newID()
	}
	if len(c.OffboardingKeywords) == 0 {
		c.OffboardingKeywords = defaultOffboardingKeywords()
	}
	if c.MessageDedupTTL <= 0 {
		c.MessageDedupTTL = time.Hour
	}
	if c.DeactivationDedupTTL <= 0 {
		c.DeactivationDedupTTL = 24 * time.Hour
	}
	if c.ChoiceTTL <= 0 {
		c.ChoiceTTL = time.Hour
	}
}

// Bot serves /jenkins-tokens over one Socket Mode connection. It is safe to
// run several Bots, in one process or many, on one Redis.
type Bot struct {
	cfg    Config
	api    *slack.Client
	sm     *socketmode.Client
	fleet  *jenkins.Fleet
	store  *approvals.Store
	rdb    redis.UniversalClient
	log    *slog.Logger
	now    func() time.Time
	snaps  *snapshots
	access *access
	sem    chan struct{}
	wg     sync.WaitGroup
	selfID string
	teamID string
	m      *Metrics

	mu        sync.Mutex
	connected bool
	connects  int
	since     time.Time
}

// New builds a Bot. The Slack client must carry the app-level token;
// rdb is the Redis the approvals store uses, for the bot's own short-lived
// keys.
func New(cfg Config, api *slack.Client, fleet *jenkins.Fleet, store *approvals.Store,
	rdb redis.UniversalClient, log *slog.Logger) (*Bot, error) {
	if len(cfg.Requesters) == 0 || len(cfg.Approvers) == 0 {
		return nil, errors.New("new bot: requesters and approvers must both be set")
	}
	cfg.setDefaults()
	b := &Bot{
		cfg:   cfg,
		api:   api,
		sm:    socketmode.New(api),
		fleet: fleet,
		store: store,
		rdb:   rdb,
		log:   log.With("component", "bot"),
		now:   time.Now,
		snaps: &snapshots{rdb: rdb, prefix: cfg.KeyPrefix, ttl: cfg.ListingTTL},
		sem:   make(chan struct{}, cfg.Workers),
		m:     cfg.Metrics,
	}
	b.access = newAccess(api, cfg.Requesters, cfg.Approvers, cfg.GroupCacheTTL, b.now)
	return b, nil
}

// Run connects to Slack and serves until ctx ends. It returns nil after a
// clean shutdown: no new envelopes are taken, and running work finishes.
func (b *Bot) Run(ctx context.Context) error {
	auth, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack auth.test: %w", err)
	}
	b.selfID, b.teamID = auth.UserID, auth.TeamID

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	work, stopWork := b.workContext(ctx)
	defer stopWork()
	errc := make(chan error, 1)
	go func() { errc <- b.sm.RunContext(runCtx) }()
	var loops sync.WaitGroup
	loops.Go(func() { b.sweepLoop(runCtx, work) })
	loops.Go(func() { b.mirrorLoop(runCtx) })

	err = b.loop(runCtx, work, errc)
	stop()
	b.log.Info("shutting down: no new envelopes; waiting for running work")
	loops.Wait()
	b.wg.Wait()
	b.setConnected(false)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// workContext is the context handlers run in: it survives ctx by
// ShutdownGrace, so that work under way can finish after a shutdown signal.
func (b *Bot) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-work.Done():
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(b.cfg.ShutdownGrace)
		defer t.Stop()
		select {
		case <-work.Done():
		case <-t.C:
			b.log.Warn("shutdown grace over: stopping running work")
			cancel()
		}
	}()
	return work, cancel
}

// Status says whether the Socket Mode connection is up, and since when.
func (b *Bot) Status() (connected bool, since time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.connected, b.since
}

func (b *Bot) setConnected(up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if up && !b.connected {
		b.connects++
		if b.connects > 1 {
			b.m.reconnected()
		}
	}
	b.connected, b.since = up, time.Now()
}

// loop receives, acknowledges and dispatches; nothing else. Handlers run
// in work, which outlives ctx during a graceful shutdown.
func (b *Bot) loop(ctx, work context.Context, errc <-chan error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return fmt.Errorf("socket mode: %w", err)
		case evt, ok := <-b.sm.Events:
			if !ok {
				return errors.New("socket mode: events closed")
			}
			b.receive(work, evt)
		}
	}
}

// receive acks an envelope at once and hands the work to a goroutine.
func (b *Bot) receive(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.setConnected(false)
		b.log.Info("connecting to slack")
	case socketmode.EventTypeHello:
		b.setConnected(true)
		b.log.Info("connected to slack")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError:
		b.setConnected(false)
		b.log.Warn("slack connection trouble", "event", string(evt.Type))
	case socketmode.EventTypeSlashCommand:
		b.ackAndGo(ctx, evt, nil, b.onSlashCommand)
	case socketmode.EventTypeInteractive:
		b.ackAndGo(ctx, evt, ackPayload(evt), b.onInteractive)
	case socketmode.EventTypeEventsAPI:
		b.ackAndGo(ctx, evt, nil, b.onEvent)
	default:
		b.log.Debug("slack event ignored", "event", string(evt.Type))
	}
}

type handler func(ctx context.Context, evt socketmode.Event)

func (b *Bot) ackAndGo(ctx context.Context, evt socketmode.Event, payload any, h handler) {
	if evt.Request == nil {
		return
	}
	start := time.Now()
	var err error
	if payload != nil {
		err = b.sm.Ack(*evt.Request, payload)
	} else {
		err = b.sm.Ack(*evt.Request)
	}
	b.m.acked(time.Since(start))
	if err != nil {
		b.log.Error("ack envelope", "envelope_id", evt.Request.EnvelopeID, "err", err)
	}
	if payload != nil && isViewError(payload) {
		return
	}
	b.wg.Add(1)
	go b.work(ctx, evt, h)
}

// work runs one handler within the worker bound, once per delivery.
func (b *Bot) work(ctx context.Context, evt socketmode.Event, h handler) {
	defer b.wg.Done()
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-b.sem }()
	defer func() {
		if r := recover(); r != nil {
			b.log.Error("handler panic", "envelope_id", evt.Request.EnvelopeID,
				"err", fmt.Sprint(r))
		}
	}()
	first, err := b.firstDelivery(ctx, evt)
	if err != nil {
		b.log.Error("dedup envelope", "envelope_id", evt.Request.EnvelopeID, "err", err)
	}
	if !first {
		b.log.Debug("redelivered envelope skipped", "envelope_id", evt.Request.EnvelopeID)
		return
	}
	b.log.Debug("envelope", "type", string(evt.Type), "envelope_id", evt.Request.EnvelopeID)
	h(ctx, evt)
}
