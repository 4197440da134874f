package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// lockedBuffer collects the logs of a running server.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// httpAddrFrom finds the address the server logged when it started.
func httpAddrFrom(logs string) string {
	for _, line := range strings.Split(logs, "\n") {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"http_addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "starting" {
			return rec.Addr
		}
	}
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServe runs the whole process against fakes: probes, metrics, a
// command, no secret in the logs, and a clean exit on SIGTERM.
func TestServe(t *testing.T) {
	fake := slacktest.New(t)
	fake.AddUser(slacktest.User{ID: "U0REQ1", Name: "rita"})
	fake.AddChannel(slacktest.Channel{ID: "C0OPS", Name: "ops",
		Members: []string{fake.BotUserID(), "U0REQ1"}})
	jf := jenkinstest.New(t, jenkinstest.Options{})
	jf.AddUser(jenkinstest.User{ID: "jenkins-bot", Admin: true})
	_, jtok := jf.AddToken("jenkins-bot", jenkinstest.TokenSpec{Name: "bot"})
	jf.AddUser(jenkinstest.User{ID: "alice"})
	_, atok := jf.AddToken("alice", jenkinstest.TokenSpec{Name: "deploy"})
	redisURL, _ := testRedis(t)
	env := map[string]string{
		"SLACK_APP_TOKEN": fake.AppToken(), "SLACK_BOT_TOKEN": fake.BotToken(),
		"SLACK_API_URL": fake.APIURL(), "REQUESTERS": "U0REQ1", "APPROVERS": "U0APP1",
		"JENKINS_URL": jf.URL, "JENKINS_USER": "jenkins-bot", "JENKINS_API_TOKEN": jtok,
		"REDIS_URL": redisURL, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "debug",
	}

	logs := &lockedBuffer{}
	ctx, stop := notifyContext()
	defer stop()
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, lookup(env), logs, io.Discard) }()

	var addr string
	waitUntil(t, "the server to start", func() bool {
		addr = httpAddrFrom(logs.String())
		return addr != ""
	})
	base := "http://" + addr
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	waitUntil(t, "readiness", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusOK
	})

	id := fake.SlashCommand("U0REQ1", "C0OPS", "alice")
	if _, err := fake.WaitAck(id, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the listing", func() bool {
		m, ok := fake.LastMessage("C0OPS")
		return ok && strings.Contains(m.PlainText(), "deploy")
	})
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`jenkins_tokens_commands_total{kind="list",outcome="ok"} 1`,
		`jenkins_tokens_envelope_ack_seconds_count 1`,
		`jenkins_tokens_jenkins_call_seconds_count{controller="jenkins",` +
			`operation="list-tokens",outcome="ok"}`,
		`jenkins_tokens_slack_api_calls_total{method="chat.postMessage",result="ok"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	fake.Drop()
	waitUntil(t, "the reconnect to be counted", func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, "jenkins_tokens_socket_reconnects_total 1")
	})
	waitUntil(t, "readiness after the reconnect", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusOK
	})

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM = %v, want a clean exit", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop after SIGTERM")
	}
	if code, _ := get(t, base+"/healthz"); code != 0 {
		t.Errorf("the HTTP server still answers after shutdown")
	}
	for _, secret := range []string{fake.AppToken(), fake.BotToken(), jtok, atok} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a token value appears in the logs")
		}
	}
}
