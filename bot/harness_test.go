package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
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
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
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
}

// newRedis returns the Redis of REDIS_URL, failing the test when it does
// not answer, or an embedded one when REDIS_URL is unset.
func newRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		mr := miniredis.RunT(t)
		url = "redis://" + mr.Addr()
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("redis at REDIS_URL does not answer: %v", err)
	}
	return rdb
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
		rdb:    newRedis(t),
		prefix: "t" + uuid.NewString()[:8],
		clock:  &testClock{t: time.Now().UTC()},
		logs:   &syncBuffer{},
	}
	t.Cleanup(func() { e.dropKeys() })
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
			Timeout: 2 * time.Second})
		if err != nil {
			e.t.Fatal(err)
		}
		clients = append(clients, c)
	}
	f, err := jenkins.NewFleet(clients, 2*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func controllerName(i int) string { return "ci-" + string(rune('a'+i)) }

func (e *env) startBot(o envOptions) *Bot {
	e.t.Helper()
	api := slack.New(e.slack.BotToken(), slack.OptionAppLevelToken(e.slack.AppToken()),
		slack.OptionAPIURL(e.slack.APIURL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	auditChannel := ""
	if o.audit {
		auditChannel = chAudit
	}
	b, err := New(Config{
		AuditChannel: auditChannel,
		Requesters:   []string{uRequester, uAlice},
		Approvers:    []string{gApprovers},
		DryRun:       o.dryRun,
		KeyPrefix:    e.prefix + ":bot:",
		SweepEvery:   time.Hour,
		Lease:        5 * time.Second,

		OffboardingChannels:       o.offboarding.OffboardingChannels,
		OffboardingKeywords:       o.offboarding.OffboardingKeywords,
		JenkinsIDFromEmail:        o.offboarding.JenkinsIDFromEmail,
		AutoRequestOnDeactivation: o.offboarding.AutoRequestOnDeactivation,
	}, api, e.fleet(), e.store, e.rdb, log)
	if err != nil {
		e.t.Fatal(err)
	}
	b.now = e.clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("bot run: %v", err)
		}
	})
	e.bots = append(e.bots, b)
	e.waitFor("the bot to connect", func() bool { return e.slack.OpenCount() >= len(e.bots) })
	return b
}

func (e *env) dropKeys() {
	ctx := context.Background()
	iter := e.rdb.Scan(ctx, 0, "*"+e.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		e.rdb.Del(ctx, iter.Val())
	}
}

// waitFor polls cond until it holds, failing the test after ten seconds.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
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
func (e *env) checkNoSecretsLogged() {
	e.t.Helper()
	logs := e.logs.String()
	for _, s := range e.secrets {
		if s != "" && strings.Contains(logs, s) {
			e.t.Errorf("a secret token value appears in the logs")
		}
	}
}

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
