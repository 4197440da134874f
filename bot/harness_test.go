package bot

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals/approvalstest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// People and places of the end-to-end tests.
const (
	uRequester = "UREQ"
	uApprover  = "UAPP"
	uApprover2 = "UAPP2"
	uOutsider  = "UOUT"
	uAlice     = "UALICE"
	gApprovers = "SAPPROVERS"
	chOps      = "COPS"
	chAudit    = "CAUDIT"
	botAccount = "jenkins-bot"
)

// testClock is a settable clock shared by the store and the bot.
type testClock struct {
	mu sync.Mutex
	t  time.Time
	// real makes Now the wall clock; Advance then does nothing.
	real bool
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.real {
		return time.Now().UTC()
	}
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a whole deployment in one test: a fake Slack, fake Jenkins
// controllers, one Redis, and one or more bot replicas.
type env struct {
	t       *testing.T
	slack   *slacktest.Server
	jenkins []*jenkinstest.Server
	// jenkinsTokens are the bot account's API tokens, one per controller.
	jenkinsTokens []string
	rdb           redis.UniversalClient
	prefix        string
	clock         *testClock
	logs          *syncBuffer
	bots          []*Bot
	store         *approvals.Store
	secrets       []string
	// runs are the bots' lifecycles, in the order of bots.
	runs []*botRun
	opts envOptions
}

// botRun is one replica's lifecycle: its Run context, its Socket Mode
// socket as first opened, and its own Redis proxy when proxied.
type botRun struct {
	bot    *Bot
	cancel context.CancelFunc
	done   chan error
	socket int
	proxy  *redisProxy
	once   sync.Once
	err    error
}

// wait waits for Run to return and returns its error, once.
func (r *botRun) wait() error {
	r.once.Do(func() { r.err = <-r.done })
	return r.err
}

type envOptions struct {
	controllers int
	dryRun      bool
	replicas    int
	audit       bool
	required    int
	jenkinsOpts jenkinstest.Options
	// offboarding sets the offboarding fields of the bots' Config.
	offboarding Config
	// proxied gives each replica its own Redis client and store behind a
	// redisProxy that a test can cut.
	proxied bool
	// lease, sweepEvery and shutdownGrace set the Config fields; zero
	// keeps the harness defaults (5 s, one hour, the bot's default).
	lease, sweepEvery, shutdownGrace time.Duration
	// jenkinsTimeout bounds each controller call; default 2 s.
	jenkinsTimeout time.Duration
	// realTime makes the store and the bots use the wall clock, so that
	// leases run out by themselves.
	realTime bool
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.controllers == 0 {
		o.controllers = 1
	}
	if o.replicas == 0 {
		o.replicas = 1
	}
	e := &env{
		t:      t,
		slack:  slacktest.New(t, slacktest.WithPingInterval(200*time.Millisecond)),
		rdb:    approvalstest.Client(t, approvalstest.URL(t)),
		prefix: "t" + uuid.NewString()[:8],
		clock:  &testClock{t: time.Now().UTC(), real: o.realTime},
		logs:   &syncBuffer{},
		opts:   o,
	}
	t.Cleanup(func() { e.dropKeys() })
	t.Cleanup(e.checkNoSecretsLogged)
	e.setUpSlack()
	for range o.controllers {
		e.addController(o.jenkinsOpts)
	}
	e.store = approvals.New(e.rdb, approvals.Options{Prefix: e.prefix, Now: e.clock.Now,
		Required: o.required})
	for range o.replicas {
		e.startBot(o)
	}
	return e
}

func (e *env) setUpSlack() {
	for _, u := range []slacktest.User{
		{ID: uRequester, Name: "rita", Email: "rita@example.com"},
		{ID: uApprover, Name: "abe", Email: "abe@example.com"},
		{ID: uApprover2, Name: "ann", Email: "ann@example.com"},
		{ID: uOutsider, Name: "otto", Email: "otto@example.com"},
		{ID: uAlice, Name: "alice", Email: "alice@example.com"},
	} {
		e.slack.AddUser(u)
	}
	// The requester is an approver too, so that the store's own refusal of
	// self-approval is what stops them.
	e.slack.AddUserGroup(gApprovers, uRequester, uApprover, uApprover2, uAlice)
	e.slack.AddChannel(slacktest.Channel{ID: chOps, Name: "ops", Members: []string{
		e.slack.BotUserID(), uRequester, uApprover, uApprover2, uOutsider, uAlice}})
	e.slack.AddChannel(slacktest.Channel{ID: chAudit, Name: "audit",
		Members: []string{e.slack.BotUserID()}})
	e.secrets = append(e.secrets, e.slack.AppToken(), e.slack.BotToken())
}

// addController starts a fake Jenkins with the bot's admin account and
// alice, and returns it.
func (e *env) addController(o jenkinstest.Options) *jenkinstest.Server {
	j := jenkinstest.New(e.t, o)
	j.AddUser(jenkinstest.User{ID: botAccount, Admin: true})
	_, tok := j.AddToken(botAccount, jenkinstest.TokenSpec{Name: "bot"})
	e.secrets = append(e.secrets, tok)
	j.AddUser(jenkinstest.User{ID: "alice", FullName: "Alice Example",
		Email: "alice@example.com"})
	e.jenkins = append(e.jenkins, j)
	e.jenkinsTokens = append(e.jenkinsTokens, tok)
	return j
}

func (e *env) fleet() *jenkins.Fleet {
	e.t.Helper()
	var clients []*jenkins.Client
	for i, j := range e.jenkins {
		c, err := jenkins.NewClient(jenkins.Config{Name: controllerName(i), URL: j.URL,
			User: botAccount, Token: jenkins.NewSecret(e.jenkinsTokens[i]),
			Timeout: cmp.Or(e.opts.jenkinsTimeout, 2*time.Second)})
		if err != nil {
			e.t.Fatal(err)
		}
		clients = append(clients, c)
	}
	f, err := jenkins.NewFleet(clients, cmp.Or(e.opts.jenkinsTimeout, 2*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func controllerName(i int) string { return "ci-" + string(rune('a'+i)) }

func (e *env) startBot(o envOptions) *Bot {
	e.t.Helper()
	// As production does (run.go), the client retries rate-limited calls.
	api := slack.New(e.slack.BotToken(), slack.OptionAppLevelToken(e.slack.AppToken()),
		slack.OptionAPIURL(e.slack.APIURL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 5 * time.Second}),
		slack.OptionRetry(3))
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rdb, store, proxy := e.replicaRedis(o)
	auditChannel := ""
	if o.audit {
		auditChannel = chAudit
	}
	b, err := New(Config{
		AuditChannel:  auditChannel,
		Requesters:    []string{uRequester, uAlice},
		Approvers:     []string{gApprovers},
		DryRun:        o.dryRun,
		KeyPrefix:     e.prefix + ":bot:",
		SweepEvery:    cmp.Or(o.sweepEvery, time.Hour),
		Lease:         cmp.Or(o.lease, 5*time.Second),
		ShutdownGrace: o.shutdownGrace,

		OffboardingChannels:       o.offboarding.OffboardingChannels,
		OffboardingKeywords:       o.offboarding.OffboardingKeywords,
		JenkinsIDFromEmail:        o.offboarding.JenkinsIDFromEmail,
		AutoRequestOnDeactivation: o.offboarding.AutoRequestOnDeactivation,
	}, api, e.fleet(), store, rdb, log)
	if err != nil {
		e.t.Fatal(err)
	}
	b.now = e.clock.Now
	return e.run(b, proxy)
}

// replicaRedis returns the Redis client and store a new replica uses: the
// shared ones, or its own behind a cuttable proxy when proxied.
func (e *env) replicaRedis(o envOptions) (redis.UniversalClient, *approvals.Store,
	*redisProxy) {
	if !o.proxied {
		return e.rdb, e.store, nil
	}
	p := newRedisProxy(e.t, e.rdb.(*redis.Client).Options().Addr)
	ro := *e.rdb.(*redis.Client).Options()
	ro.Addr = p.Addr()
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = time.Second, time.Second, time.Second
	rdb := redis.NewClient(&ro)
	e.t.Cleanup(func() { _ = rdb.Close() })
	store := approvals.New(rdb, approvals.Options{Prefix: e.prefix, Now: e.clock.Now,
		Required: o.required})
	return rdb, store, p
}

// run starts b and waits until its socket is open.
func (e *env) run(b *Bot, proxy *redisProxy) *Bot {
	e.t.Helper()
	before := map[int]bool{}
	for _, id := range e.slack.Sockets() {
		before[id] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &botRun{bot: b, cancel: cancel, done: make(chan error, 1), proxy: proxy}
	go func() { r.done <- b.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := r.wait(); err != nil {
			e.t.Errorf("bot run: %v", err)
		}
	})
	e.bots = append(e.bots, b)
	e.runs = append(e.runs, r)
	e.waitFor("the bot to connect", func() bool {
		for _, id := range e.slack.Sockets() {
			if !before[id] {
				r.socket = id
				return true
			}
		}
		return false
	})
	return b
}

func (e *env) dropKeys() { dropPrefix(e.rdb, e.prefix) }

// dropPrefix deletes a test's keys from a Redis other tests share.
func dropPrefix(rdb redis.UniversalClient, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, "*"+prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	pollUntil(e.t, 10*time.Second, 10*time.Millisecond, what, cond)
}

// pollUntil checks cond every poll until it holds, failing tb after limit.
func pollUntil(tb testing.TB, limit, poll time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(poll)
	}
}

// botMessages returns the bot's channel messages whose text contains s.
func (e *env) botMessages(channel, s string) []slacktest.Message {
	var out []slacktest.Message
	for _, m := range e.slack.Messages(channel) {
		if m.EphemeralTo == "" && m.BotID != "" && strings.Contains(m.PlainText(), s) {
			out = append(out, m)
		}
	}
	return out
}

// waitMessage waits for a bot message containing s and returns the latest.
func (e *env) waitMessage(channel, s string) slacktest.Message {
	e.t.Helper()
	var got []slacktest.Message
	e.waitFor("a message saying "+s, func() bool {
		got = e.botMessages(channel, s)
		return len(got) > 0
	})
	return got[len(got)-1]
}

// waitEphemeral waits for a private message to user containing s.
func (e *env) waitEphemeral(user, s string) slacktest.Message {
	e.t.Helper()
	var found slacktest.Message
	e.waitFor("an ephemeral to "+user+" saying "+s, func() bool {
		for _, m := range e.slack.Ephemerals(user) {
			if strings.Contains(m.PlainText(), s) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// refresh reads the stored version of a message.
func (e *env) refresh(m slacktest.Message) slacktest.Message {
	e.t.Helper()
	got, ok := e.slack.Message(m.Channel, m.TS)
	if !ok {
		e.t.Fatalf("message %s is gone", m.TS)
	}
	return got
}

// checkNoSecretsLogged fails when any token value reached the logs.
// Every end-to-end test runs it when it ends. Besides the values it knows,
// it looks for anything shaped like a Slack token or a Jenkins API token
// (new: "11" and 32 hex digits; legacy: 32 hex digits), since tests add
// tokens to the fake Jenkins without telling the harness.
func (e *env) checkNoSecretsLogged() {
	e.t.Helper()
	logs := e.logs.String()
	for _, s := range e.secrets {
		if s != "" && strings.Contains(logs, s) {
			e.t.Errorf("a secret token value appears in the logs")
		}
	}
	if m := secretShapeRE.FindString(logs); m != "" {
		e.t.Errorf("something shaped like a token appears in the logs: %.6s…", m)
	}
}

var secretShapeRE = regexp.MustCompile(`xox[abp]-|xapp-|\b(11)?[0-9a-f]{32}\b`)

// buttonValue returns the value of the button with actionID in a message,
// as it is stored now.
func (e *env) buttonValue(m slacktest.Message, actionID string) (blockID, value string) {
	e.t.Helper()
	var blocks []struct {
		BlockID   string `json:"block_id"`
		Accessory *struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"accessory"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(e.refresh(m).Blocks, &blocks); err != nil {
		e.t.Fatal(err)
	}
	for _, b := range blocks {
		if b.Accessory != nil && b.Accessory.ActionID == actionID {
			return b.BlockID, b.Accessory.Value
		}
		for _, el := range b.Elements {
			if el.ActionID == actionID {
				return b.BlockID, el.Value
			}
		}
	}
	e.t.Fatalf("no button %s in:\n%s", actionID, e.refresh(m).PlainText())
	return "", ""
}

// staleClick is a click on a button that an update has since removed, as
// a person with an old copy of the message could still send.
type staleClick struct{ channel, ts, actionID, blockID, value string }

func (e *env) keepButton(m slacktest.Message, actionID string) staleClick {
	blockID, value := e.buttonValue(m, actionID)
	return staleClick{m.Channel, m.TS, actionID, blockID, value}
}

func (e *env) clickStale(user string, c staleClick) {
	e.slack.BlockAction(user, c.channel, c.ts, c.actionID, c.blockID, c.value)
}

// redisProxy is a TCP proxy on the loopback between bots and Redis. Cut
// models Redis going away (or a partition): open connections are reset and
// new ones are closed at once; Restore lets connections through again.
type redisProxy struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newRedisProxy(t *testing.T, upstream string) *redisProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &redisProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	wg.Go(func() { p.serve(&wg) })
	t.Cleanup(func() {
		_ = ln.Close()
		p.Cut()
		wg.Wait()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *redisProxy) Addr() string { return p.ln.Addr().String() }

func (p *redisProxy) serve(wg *sync.WaitGroup) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		wg.Go(func() { p.pipe(c) })
	}
}

// pipe copies bytes both ways until either side closes or the proxy cuts.
func (p *redisProxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.upstream, time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(c, up) {
		_ = c.Close()
		_ = up.Close()
		return
	}
	defer p.untrack(c, up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
}

func (p *redisProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *redisProxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.conns, c)
	}
}

// Cut closes every proxied connection and refuses new ones until Restore.
func (p *redisProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore lets connections through again.
func (p *redisProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// crash stops replica i as a killed process would stop: its Redis proxy is
// cut first, so that it renews no lease, hands nothing back and records
// nothing; then its socket drops without a close frame and its Run context
// ends. Work it had under way may go on in this process, but it can no
// longer change anything the other replicas see in Redis.
func (e *env) crash(i int) {
	e.t.Helper()
	r := e.runs[i]
	if r.proxy == nil {
		e.t.Fatal("crash needs envOptions.proxied")
	}
	r.proxy.Cut()
	e.slack.Drop(r.socket)
	r.cancel()
}

// stop shuts replica i down gracefully, as SIGTERM does, and waits until
// its Run returns.
func (e *env) stop(i int) {
	e.t.Helper()
	e.runs[i].cancel()
	if err := e.runs[i].wait(); err != nil {
		e.t.Errorf("bot run: %v", err)
	}
}

// waitState polls the store until request id reaches state.
func (e *env) waitState(id string, state approvals.State) *approvals.Request {
	e.t.Helper()
	var req *approvals.Request
	e.waitFor("request "+id+" to be "+string(state), func() bool {
		r, err := e.store.Get(e.t.Context(), id)
		if err != nil {
			return false
		}
		req = r
		return r.State == state
	})
	return req
}
