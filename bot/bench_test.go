package bot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// Run against the real Redis with:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench . -benchtime 5x ./bot/
//
// Without REDIS_URL the benchmarks measure miniredis, in this process.

// benchEnv is a deployment for benchmarks: the fake Slack, fake Jenkins
// controllers, one Redis and running bot replicas. It is newEnv for
// testing.TB, without the log capture.
type benchEnv struct {
	tb      testing.TB
	slack   *slacktest.Server
	jenkins []*jenkinstest.Server
	tokens  []string
	rdb     *redis.Client
	store   *approvals.Store
	// peek reads the store on a connection of its own, so that the test's
	// polling is not counted in cmds.
	peek   *approvals.Store
	bots   []*Bot
	prefix string
	// cmds counts Redis commands (a pipeline counts once).
	cmds atomic.Int64
}

func newBenchEnv(tb testing.TB, replicas, controllers int) *benchEnv {
	tb.Helper()
	url := approvalstest.URL(tb)
	e := &benchEnv{tb: tb, slack: slacktest.New(tb), rdb: approvalstest.Client(tb, url),
		prefix: "b" + uuid.NewString()[:8]}
	e.rdb.AddHook(redisCounter{&e.cmds})
	tb.Cleanup(e.dropKeys)
	for _, u := range []string{uRequester, uApprover} {
		e.slack.AddUser(slacktest.User{ID: u, Name: strings.ToLower(u),
			Email: strings.ToLower(u) + "@example.com"})
	}
	e.slack.AddUserGroup(gApprovers, uApprover)
	e.addChannel(chOps)
	for range controllers {
		j := jenkinstest.New(tb, jenkinstest.Options{})
		j.AddUser(jenkinstest.User{ID: botAccount, Admin: true})
		_, tok := j.AddToken(botAccount, jenkinstest.TokenSpec{Name: "bot"})
		e.jenkins, e.tokens = append(e.jenkins, j), append(e.tokens, tok)
	}
	e.store = approvals.New(e.rdb, approvals.Options{Prefix: e.prefix})
	e.peek = approvals.New(approvalstest.Client(tb, url), approvals.Options{Prefix: e.prefix})
	for range replicas {
		e.startBot()
	}
	return e
}

func (e *benchEnv) addChannel(id string) {
	e.slack.AddChannel(slacktest.Channel{ID: id, Name: id,
		Members: []string{slacktest.BotUserID, uRequester, uApprover}})
}

func (e *benchEnv) startBot() {
	var clients []*jenkins.Client
	for i, j := range e.jenkins {
		c, err := jenkins.NewClient(jenkins.Config{Name: controllerName(i), URL: j.URL,
			User: botAccount, Token: jenkins.NewSecret(e.tokens[i]), Timeout: 5 * time.Second})
		if err != nil {
			e.tb.Fatal(err)
		}
		clients = append(clients, c)
	}
	fleet, err := jenkins.NewFleet(clients, 5*time.Second)
	if err != nil {
		e.tb.Fatal(err)
	}
	api := slack.New(e.slack.BotToken(), slack.OptionAppLevelToken(e.slack.AppToken()),
		slack.OptionAPIURL(e.slack.APIURL()),
		slack.OptionHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	b, err := New(Config{Requesters: []string{uRequester}, Approvers: []string{gApprovers},
		KeyPrefix: e.prefix + ":bot:", SweepEvery: time.Hour}, api, fleet, e.store, e.rdb, log)
	if err != nil {
		e.tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	e.tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.tb.Errorf("bot run: %v", err)
		}
	})
	e.bots = append(e.bots, b)
	if err := e.slack.WaitOpen(len(e.bots), 10*time.Second); err != nil {
		e.tb.Fatal(err)
	}
}

func (e *benchEnv) dropKeys() { dropPrefix(e.rdb, e.prefix) }

// waitFor polls cond every millisecond, failing after 30 seconds.
func (e *benchEnv) waitFor(what string, cond func() bool) {
	e.tb.Helper()
	pollUntil(e.tb, 30*time.Second, time.Millisecond, what, cond)
}

// botMessage returns the newest bot message in channel containing s.
func (e *benchEnv) botMessage(channel, s string) (slacktest.Message, bool) {
	msgs := e.slack.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].BotID != "" && strings.Contains(msgs[i].PlainText(), s) {
			return msgs[i], true
		}
	}
	return slacktest.Message{}, false
}

// countMessages counts the bot messages in channel containing s.
func (e *benchEnv) countMessages(channel, s string) int {
	n := 0
	for _, m := range e.slack.Messages(channel) {
		if m.BotID != "" && strings.Contains(m.PlainText(), s) {
			n++
		}
	}
	return n
}

func (e *benchEnv) waitMessage(channel, s string) slacktest.Message {
	e.tb.Helper()
	var m slacktest.Message
	e.waitFor(s, func() bool {
		var ok bool
		m, ok = e.botMessage(channel, s)
		return ok
	})
	return m
}

// redisCounter counts Redis round trips.
type redisCounter struct{ n *atomic.Int64 }

func (h redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h redisCounter) ProcessPipelineHook(
	next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkSlashAck200 pushes 200 slash commands at once to two replicas
// and measures, at the fake Slack, the time from each push call to its ack
// (so it includes the fake's own queueing of the 200 pushes); every
// iteration also waits for the 200 answers. text=alice makes each command
// a listing, whose work competes with the acks for the CPU; text=help
// measures the receive loop with cheap handlers. The goal is a p99 under
// 50 ms.
func BenchmarkSlashAck200(b *testing.B) {
	for _, tc := range []struct{ text, answer string }{
		{"alice", "Jenkins API tokens of"}, {"help", "lists a person's"},
	} {
		b.Run("text="+tc.text, func(b *testing.B) { slashAck(b, tc.text, tc.answer) })
	}
}

func slashAck(b *testing.B, text, answer string) {
	const burst = 200
	e := newBenchEnv(b, 2, 1)
	e.jenkins[0].AddUser(jenkinstest.User{ID: "alice"})
	e.jenkins[0].AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	var lat []time.Duration
	handled := 0
	start := time.Now()
	for b.Loop() {
		lat = append(lat, e.burst(burst, text)...)
		handled += burst
		e.waitFor("every answer", func() bool { return e.answered(answer) >= handled })
	}
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ack-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ack-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ack-ms")
	b.ReportMetric(float64(handled)/time.Since(start).Seconds(), "commands/s")
}

// answered counts the answers containing s in chOps, channel messages and
// the requester's ephemerals.
func (e *benchEnv) answered(s string) int {
	n := e.countMessages(chOps, s)
	for _, m := range e.slack.Ephemerals(uRequester) {
		if strings.Contains(m.PlainText(), s) {
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// burst pushes n slash commands from n goroutines and returns each one's
// push-to-ack time.
func (e *benchEnv) burst(n int, text string) []time.Duration {
	pushed := make(map[string]time.Time, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			t := time.Now()
			id := e.slack.SlashCommand(uRequester, chOps, text)
			mu.Lock()
			pushed[id] = t
			mu.Unlock()
		})
	}
	wg.Wait()
	for id := range pushed {
		if _, err := e.slack.WaitAck(id, 10*time.Second); err != nil {
			e.tb.Fatal(err)
		}
	}
	var out []time.Duration
	for _, a := range e.slack.Acks() {
		if t, ok := pushed[a.EnvelopeID]; ok {
			out = append(out, a.Time.Sub(t))
		}
	}
	return out
}

// BenchmarkFlow runs whole offboardings, list, request, approve, revoke and
// verify, against one controller, one flow at a time and eight at once.
func BenchmarkFlow(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("concurrent=%d", n), func(b *testing.B) {
			e := newBenchEnv(b, 2, 1)
			var seq atomic.Int64
			start, before := time.Now(), e.cmds.Load()
			for b.Loop() {
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() { e.flow(int(seq.Add(1))) })
				}
				wg.Wait()
			}
			flows := float64(n * b.N)
			b.ReportMetric(flows/time.Since(start).Seconds(), "flows/s")
			b.ReportMetric(float64(e.cmds.Load()-before)/flows, "redis-cmds/flow")
		})
	}
}

// flow offboards a fresh Jenkins user with two tokens in its own channel.
func (e *benchEnv) flow(i int) {
	id, ch := fmt.Sprintf("user%d", i), fmt.Sprintf("CFLOW%d", i)
	j := e.jenkins[0]
	j.AddUser(jenkinstest.User{ID: id})
	j.AddToken(id, jenkinstest.TokenSpec{Name: "deploy"})
	j.AddToken(id, jenkinstest.TokenSpec{Name: "laptop"})
	e.addChannel(ch)
	e.slack.SlashCommand(uRequester, ch, id)
	listing := e.waitMessage(ch, "Jenkins API tokens of")
	e.slack.Click(uRequester, listing, actionRevokeAll)
	approval := e.waitMessage(ch, "[Approve]")
	e.waitFor("the request's messages", func() bool {
		reqs, _ := e.peek.ByTarget(e.tb.Context(), id)
		return len(reqs) == 1 && len(reqs[0].Messages) > 0
	})
	e.slack.Click(uApprover, approval, actionApprove)
	e.waitMessage(ch, "2 revoked and verified")
	if st, _ := j.UserState(id); len(st.Tokens) != 0 {
		e.tb.Errorf("%s still has %d tokens", id, len(st.Tokens))
	}
}

// BenchmarkPendingMemory10k creates 10,000 pending requests with a replica
// running and reports the process's Go heap and resident memory after GC;
// the timed part is one expiry sweep over them. The goal is under 60 MB.
// The process also holds the fake Slack and Jenkins, so the figures are an
// upper bound for the bot.
func BenchmarkPendingMemory10k(b *testing.B) {
	if os.Getenv("REDIS_URL") == "" {
		b.Skip("needs REDIS_URL: miniredis would keep the requests in this process")
	}
	e := newBenchEnv(b, 1, 1)
	ctx := b.Context()
	for i := range 10_000 {
		_, err := e.store.Create(ctx, approvals.NewRequest{Requester: uRequester,
			Target: approvals.Target{Label: fmt.Sprintf("user%d", i)},
			Plan: approvals.Plan{Controllers: []approvals.ControllerPlan{{
				Controller: "ci-a", JenkinsUser: fmt.Sprintf("user%d", i),
				Tokens: []approvals.PlannedToken{{UUID: uuid.NewString(), Name: "deploy"}},
			}}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		e.bots[0].sweep(ctx)
	}
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapAlloc)/1e6, "heap-MB")
	b.ReportMetric(float64(m.Sys)/1e6, "go-sys-MB")
	b.ReportMetric(procStatusMB("VmRSS"), "rss-MB")
	b.ReportMetric(procStatusMB("VmHWM"), "peak-rss-MB")
}

// procStatusMB reads a kB field of /proc/self/status; 0 where there is
// none.
func procStatusMB(field string) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1000
		}
	}
	return 0
}

// BenchmarkListing20Slow lists a person on 20 controllers that each take
// 200 ms to answer, from slash command to posted listing. ratio is the
// wall time over one controller's 200 ms.
func BenchmarkListing20Slow(b *testing.B) {
	const delay = 200 * time.Millisecond
	e := newBenchEnv(b, 1, 20)
	for _, j := range e.jenkins {
		j.AddUser(jenkinstest.User{ID: "alice"})
		j.AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
		j.SetFault("/scriptText", jenkinstest.Fault{Kind: jenkinstest.FaultSlow, Delay: delay})
	}
	var total time.Duration
	for b.Loop() {
		n := e.countMessages(chOps, "Jenkins API tokens of")
		start := time.Now()
		e.slack.SlashCommand(uRequester, chOps, "alice")
		e.waitFor("the listing", func() bool {
			return e.countMessages(chOps, "Jenkins API tokens of") > n
		})
		total += time.Since(start)
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(ms(per), "wall-ms/listing")
	b.ReportMetric(float64(per)/float64(delay), "ratio")
}
