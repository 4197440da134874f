package jenkins

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

var testEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is a fake controller with an admin bot account and a client for it.
type env struct {
	srv    *jenkinstest.Server
	client *Client
	botTok string
}

func newEnv(t testing.TB, opts jenkinstest.Options, mod func(*Config)) *env {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testEpoch }
	}
	srv := jenkinstest.New(t, opts)
	srv.AddUser(jenkinstest.User{ID: "jenkins-bot", Admin: true})
	_, tok := srv.AddToken("jenkins-bot", jenkinstest.TokenSpec{Name: "bot"})
	cfg := Config{Name: "ci", URL: srv.URL, User: "jenkins-bot", Token: NewSecret(tok),
		Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return &env{srv: srv, client: c, botTok: tok}
}

// addAlice adds alice with one token and returns its uuid.
func (e *env) addAlice() string {
	e.srv.AddUser(jenkinstest.User{ID: "alice", FullName: "Alice Example",
		Email: "alice@example.com"})
	id, _ := e.srv.AddToken("alice", jenkinstest.TokenSpec{Name: "ci"})
	return id
}

// assertNoSecret fails when the secret shows in any rendering of err.
func assertNoSecret(t testing.TB, err error, secret string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err),
		fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, secret) || strings.Contains(s, secret[2:]) {
			t.Errorf("error shows the token: %s", s)
		}
	}
	var he *HTTPError
	if errors.As(err, &he) && strings.Contains(he.Excerpt, secret) {
		t.Errorf("error excerpt shows the token: %s", he.Excerpt)
	}
}
