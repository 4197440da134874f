package jenkins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

const secretValue = "11deadbeefdeadbeefdeadbeefdeadbeef"

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(secretValue)
	cfg := Config{Name: "ci", Token: s}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "token", s, "cfg", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%s %v %+v %#v %q %x %X", s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), logBuf.String(), string(js),
	}
	for _, out := range outs {
		if strings.Contains(out, "deadbeef") {
			t.Errorf("secret printed: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("no [redacted] in %s", out)
		}
	}
	if s.Reveal() != secretValue {
		t.Error("Reveal lost the value")
	}
}

func TestNewClientValidation(t *testing.T) {
	jar, _ := cookiejar.New(nil)
	good := Config{Name: "ci", URL: "https://ci.example.com/jenkins", User: "bot",
		Token: NewSecret(secretValue)}
	tests := []struct {
		name  string
		mod   func(*Config)
		wants []string
	}{
		{"valid", func(*Config) {}, nil},
		{"everything wrong", func(c *Config) { *c = Config{Timeout: -1} },
			[]string{"name is empty", "url is empty", "user is empty",
				"api token is empty", "timeout -1ns is negative"}},
		{"credentials in url", func(c *Config) {
			c.URL = "https://bot:" + secretValue + "@ci.example.com"
		}, []string{"url contains credentials"}},
		{"scheme", func(c *Config) { c.URL = "ftp://x" }, []string{"scheme"}},
		{"no host", func(c *Config) { c.URL = "https://" }, []string{"no host"}},
		{"query", func(c *Config) { c.URL = "https://x/?a=b" }, []string{"query"}},
		{"cookie jar", func(c *Config) { c.HTTPClient = &http.Client{Jar: jar} },
			[]string{"cookie jar"}},
		{"user agent", func(c *Config) { c.UserAgent = "a\r\nb" }, []string{"line break"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mod(&cfg)
			c, err := NewClient(cfg)
			if (err != nil) != (tt.wants != nil) {
				t.Fatalf("err = %v, want error %v", err, tt.wants != nil)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			assertNoSecret(t, err, secretValue)
			if c != nil && strings.Contains(c.String(), "deadbeef") {
				t.Errorf("String shows the token: %s", c)
			}
		})
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID.x", Value: "s"})
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		_, _ = w.Write([]byte(`{"found":false}` + "\n"))
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{Name: "ci", URL: srv.URL, User: "bot",
		Token: NewSecret(secretValue), UserAgent: "bot/1.0"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.ListTokens(t.Context(), "alice"); !errors.Is(err, ErrUserNotFound) {
			t.Fatalf("err = %v", err)
		}
	}
	user, pass, ok := (&http.Request{Header: got}).BasicAuth()
	if !ok || user != "bot" || pass != secretValue {
		t.Errorf("basic auth = %q, %v", user, ok)
	}
	if got.Get("User-Agent") != "bot/1.0" || got.Get("Cookie") != "" ||
		got.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("headers = %v", got)
	}
}

func TestPreflight(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(*env)
		mod         func(*Config)
		wantUsable  bool
		wantProblem string
		wantErr     error
	}{
		{name: "usable", wantUsable: true},
		{name: "user case differs", mod: func(c *Config) { c.User = "Jenkins-Bot" },
			wantUsable: true},
		{name: "token refused", mod: func(c *Config) { c.Token = NewSecret(secretValue) },
			wantProblem: "the API token for jenkins-bot was refused (401): create a " +
				"new token and update the configuration", wantErr: ErrUnauthorized},
		{name: "not admin", setup: func(e *env) {
			e.srv.AddUser(jenkinstest.User{ID: "jenkins-bot"})
			_, tok := e.srv.AddToken("jenkins-bot", jenkinstest.TokenSpec{Name: "b"})
			e.client.token = NewSecret(tok)
		}, wantProblem: "jenkins-bot lacks Overall/Administer", wantErr: ErrForbidden},
		{name: "login page", setup: func(e *env) {
			e.srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultLoginPage})
		}, wantProblem: "HTML page", wantErr: ErrLoginPage},
		{name: "script console broken", setup: func(e *env) {
			e.srv.SetFault("/scriptText", jenkinstest.Fault{Kind: jenkinstest.FaultBody,
				Body: "Result: null\n"})
		}, wantProblem: "Script Console did not run"},
		{name: "unreachable", setup: func(e *env) { e.srv.Close() },
			wantProblem: "unreachable: ", wantErr: ErrRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, jenkinstest.Options{Version: "2.555.1"}, tt.mod)
			if tt.setup != nil {
				tt.setup(e)
			}
			h := e.client.Preflight(t.Context())
			if h.Usable != tt.wantUsable || !strings.Contains(h.Problem, tt.wantProblem) {
				t.Fatalf("health = %+v, want usable %v, problem %q", h, tt.wantUsable,
					tt.wantProblem)
			}
			if h.Controller != "ci" || h.Account == "" {
				t.Errorf("health names %q/%q", h.Controller, h.Account)
			}
			if tt.wantErr != nil && !errors.Is(h.Err, tt.wantErr) {
				t.Errorf("err = %v, want %v", h.Err, tt.wantErr)
			}
			if tt.wantUsable && (h.Err != nil || h.Version != "2.555.1") {
				t.Errorf("usable health: err %v, version %q", h.Err, h.Version)
			}
			assertNoSecret(t, h.Err, e.botTok)
			assertNoSecret(t, h.Err, secretValue)
			if strings.Contains(h.Problem, e.botTok) {
				t.Errorf("problem shows the token: %s", h.Problem)
			}
		})
	}
}

// TestErrorPaths runs every failure the client must recognise against
// ListTokens (and LookupUser for 404), checking the error kind, that the
// token never shows, and that a hang ends within the client's timeout.
func TestErrorPaths(t *testing.T) {
	tests := []struct {
		name      string
		fault     jenkinstest.Fault
		path      string
		setup     func(*env)
		lookup    bool
		want      error
		wantRetry bool
		wantAs    any
		wantPerm  string
	}{
		{name: "401", setup: func(e *env) { e.client.token = NewSecret(secretValue) },
			want: ErrUnauthorized},
		{name: "403 with permission", setup: func(e *env) {
			e.srv.AddUser(jenkinstest.User{ID: "jenkins-bot"})
			_, tok := e.srv.AddToken("jenkins-bot", jenkinstest.TokenSpec{Name: "b"})
			e.client.token = NewSecret(tok)
		}, want: ErrForbidden, wantPerm: "hudson.model.Hudson.Administer"},
		{name: "404", lookup: true, setup: func(e *env) { e.srv.RemoveUser("alice") },
			want: ErrUserNotFound},
		{name: "500", fault: jenkinstest.Fault{Kind: jenkinstest.FaultStatus500},
			want: ErrRetryable, wantRetry: true},
		{name: "login page with 200", fault: jenkinstest.Fault{
			Kind: jenkinstest.FaultLoginPage}, want: ErrLoginPage},
		{name: "hang", fault: jenkinstest.Fault{Kind: jenkinstest.FaultHang},
			want: ErrRetryable, wantRetry: true},
		{name: "connection reset", fault: jenkinstest.Fault{Kind: jenkinstest.FaultReset},
			want: ErrRetryable, wantRetry: true},
		{name: "truncated output", fault: jenkinstest.Fault{Kind: jenkinstest.FaultBody,
			Body: `{"found":true,"user":{"id":"alice"`}, wantAs: new(*ScriptError)},
		{name: "garbage output", fault: jenkinstest.Fault{Kind: jenkinstest.FaultBody,
			Body: "hello\x00world"}, wantAs: new(*ScriptError)},
		{name: "empty output", fault: jenkinstest.Fault{Kind: jenkinstest.FaultBody},
			wantAs: new(*ScriptError)},
		{name: "stack trace with 200", fault: jenkinstest.Fault{Kind: jenkinstest.FaultBody,
			Body: "java.lang.NullPointerException\n\tat Script1.run(Script1.groovy:3)\n"},
			wantAs: new(*ScriptError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, jenkinstest.Options{},
				func(c *Config) { c.Timeout = 300 * time.Millisecond })
			e.addAlice()
			if tt.setup != nil {
				tt.setup(e)
			}
			if tt.fault.Kind != jenkinstest.FaultNone {
				e.srv.SetFault("/", tt.fault)
			}
			start := time.Now()
			var err error
			if tt.lookup {
				_, err = e.client.LookupUser(t.Context(), "alice")
			} else {
				_, err = e.client.ListTokens(t.Context(), "alice")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v, past the client timeout", time.Since(start))
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if tt.wantAs != nil && !errors.As(err, tt.wantAs) {
				t.Errorf("err = %v (%T), want %T", err, err, tt.wantAs)
			}
			if IsRetryable(err) != tt.wantRetry {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, !tt.wantRetry, tt.wantRetry)
			}
			var he *HTTPError
			if tt.wantPerm != "" && (!errors.As(err, &he) ||
				he.RequiredPermission != tt.wantPerm) {
				t.Errorf("err = %#v, want required permission %s", err, tt.wantPerm)
			}
			assertNoSecret(t, err, e.botTok)
			assertNoSecret(t, err, secretValue)
			if !strings.Contains(err.Error(), "on ci") {
				t.Errorf("error does not name the controller: %v", err)
			}
		})
	}
}

func TestCancelledIsNotRetryable(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	e.srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultHang})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := e.client.ListTokens(ctx, "alice")
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Errorf("err = %v, want context.Canceled and not retryable", err)
	}
}

func TestHTTPErrorExcerptIsCapped(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	e.srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultStatus500})
	_, err := e.client.ListTokens(t.Context(), "alice")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 || he.Method != "POST" ||
		he.Path != "/scriptText" || he.Excerpt == "" || len(he.Excerpt) > excerptLen {
		t.Errorf("err = %#v", he)
	}
}

func TestBodyCap(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	e.srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultBody,
		Body: strings.Repeat("x", maxBody+10)})
	_, err := e.client.ListTokens(t.Context(), "alice")
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
}

func TestObserveSeesEveryCall(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	var failed int
	e := newEnv(t, jenkinstest.Options{}, func(c *Config) {
		c.Observe = func(op string, d time.Duration, err error) {
			mu.Lock()
			defer mu.Unlock()
			ops = append(ops, op)
			if err != nil {
				failed++
			}
		}
	})
	e.addAlice()
	if _, err := e.client.ListTokens(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.LookupUser(t.Context(), "nobody"); err == nil {
		t.Fatal("LookupUser found nobody")
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"list-tokens", "lookup_user"}, ops); diff != "" {
		t.Errorf("observed operations (-want +got):\n%s", diff)
	}
	if failed != 1 {
		t.Errorf("observed %d failures, want 1", failed)
	}
}
