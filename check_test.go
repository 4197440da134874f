package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals/approvalstest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/bot/slacktest"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// checkEnv is a complete, valid environment backed by fakes, which a test
// case then breaks in one way.
type checkEnv struct {
	env     map[string]string
	jenkins *jenkinstest.Server
	dir     string
	// secrets are values that must never appear in the output.
	secrets []string
	// redisTarget is how the check names the Redis in use.
	redisTarget string
}

func newCheckEnv(t *testing.T) *checkEnv {
	t.Helper()
	fake := slacktest.New(t)
	jf := jenkinstest.New(t, jenkinstest.Options{})
	jf.AddUser(jenkinstest.User{ID: "jenkins-bot", Admin: true})
	_, jtok := jf.AddToken("jenkins-bot", jenkinstest.TokenSpec{Name: "bot"})
	redisURL, redisTarget := testRedis(t)
	e := &checkEnv{
		env: map[string]string{
			"SLACK_APP_TOKEN":   fake.AppToken(),
			"SLACK_BOT_TOKEN":   fake.BotToken(),
			"SLACK_API_URL":     fake.APIURL(),
			"REQUESTERS":        "U0REQ1,S0ADMINS",
			"APPROVERS":         "U0APP1,U0APP2",
			"JENKINS_URL":       jf.URL,
			"JENKINS_USER":      "jenkins-bot",
			"JENKINS_API_TOKEN": jtok,
			"REDIS_URL":         redisURL,
		},
		jenkins:     jf,
		dir:         t.TempDir(),
		secrets:     []string{fake.AppToken(), fake.BotToken(), jtok},
		redisTarget: redisTarget,
	}
	return e
}

// testRedis returns the Redis named by REDIS_URL, else a fresh embedded
// one, and the target the check prints for it.
func testRedis(t *testing.T) (string, string) {
	t.Helper()
	u := approvalstest.URL(t)
	return u, redisTargetOf(t, u)
}

func redisTargetOf(t *testing.T, u string) string {
	t.Helper()
	rows := checkRedis(t.Context(), &config{RedisURL: u})
	if len(rows) != 1 || rows[0].Status != statusOK {
		t.Fatalf("REDIS_URL is set but its Redis cannot be used: %+v", rows)
	}
	return rows[0].Target
}

// file writes a file in the test's directory and returns its path.
func (e *checkEnv) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// controllersFile replaces the single controller with a YAML file; {{URL}}
// stands for the fake controller's URL.
func (e *checkEnv) controllersFile(t *testing.T, yaml string) {
	t.Helper()
	yaml = strings.ReplaceAll(yaml, "{{URL}}", e.jenkins.URL)
	e.env["JENKINS_CONTROLLERS_FILE"] = e.file(t, "controllers.yaml", yaml)
	delete(e.env, "JENKINS_URL")
	delete(e.env, "JENKINS_USER")
	delete(e.env, "JENKINS_API_TOKEN")
}

// addJenkinsUser adds a user with a token to the fake and returns the token.
func (e *checkEnv) addJenkinsUser(id string, admin bool) string {
	e.jenkins.AddUser(jenkinstest.User{ID: id, Admin: admin})
	_, tok := e.jenkins.AddToken(id, jenkinstest.TokenSpec{Name: "bot"})
	e.secrets = append(e.secrets, tok)
	return tok
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

var columnGap = regexp.MustCompile(` {2,}`)

// parseTable reads the check table back into rows and fails the test when
// its columns are not aligned.
func parseTable(t *testing.T, out string) []checkRow {
	t.Helper()
	lines := strings.Split(out, "\n")
	statusCol := strings.Index(lines[0], "STATUS")
	if !strings.HasPrefix(lines[0], "COMPONENT") || statusCol < 0 {
		t.Fatalf("no table header in output:\n%s", out)
	}
	var rows []checkRow
	for _, line := range lines[1:] {
		if line == "" {
			break
		}
		f := columnGap.Split(line, 4)
		if len(f) < 3 {
			t.Fatalf("row %q has fewer than 3 columns", line)
		}
		if !strings.HasPrefix(line[statusCol:], f[2]) {
			t.Errorf("row %q: status not aligned under STATUS:\n%s", line, out)
		}
		r := checkRow{Component: f[0], Target: f[1], Status: f[2]}
		if len(f) == 4 {
			r.Detail = f[3]
		}
		rows = append(rows, r)
	}
	return rows
}

// wantRow is a row the output must have; Detail is a substring.
type wantRow struct{ component, status, detail string }

func assertRows(t *testing.T, rows []checkRow, want []wantRow, wantFails int) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, r := range rows {
			if r.Component == w.component && r.Status == w.status &&
				strings.Contains(r.Detail, w.detail) {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %s %s %q in %+v", w.component, w.status, w.detail, rows)
		}
	}
	fails := 0
	for _, r := range rows {
		if r.Status == statusFail {
			fails++
		}
	}
	if fails != wantFails {
		t.Errorf("%d FAIL rows, want %d: %+v", fails, wantFails, rows)
	}
}

func runCheck(t *testing.T, e *checkEnv, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	getenv := func(k string) string { return e.env[k] }
	err := run(t.Context(), append([]string{"check"}, args...), getenv, &out, io.Discard)
	for _, s := range e.secrets {
		if s != "" && strings.Contains(out.String()+errString(err), s) {
			t.Errorf("output or error contains a secret value:\n%s", out.String())
		}
	}
	return out.String(), err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCheckAllGood(t *testing.T) {
	t.Parallel()
	e := newCheckEnv(t)
	out, err := runCheck(t, e)
	if err != nil {
		t.Fatalf("check = %v, want nil; output:\n%s", err, out)
	}
	want := []checkRow{
		{"config", "environment", "OK", "1 controller(s), 2 requester(s), " +
			"2 approver(s), 1 approval(s) required, requests expire after 24h0m0s, " +
			"dry run off"},
		{"slack", "bot token (auth.test)", "OK",
			"workspace Fake (T0FAKE), bot user @jenkins-tokens (UBOT)"},
		{"slack", "app token (apps.connections.open)", "OK",
			"Socket Mode is enabled and the app-level token is accepted"},
		{"redis", e.redisTarget, "OK",
			"answered PING; pending requests and the audit trail live here"},
		{"jenkins", "jenkins (" + e.jenkins.URL + ")", "OK",
			"account jenkins-bot holds Overall/Administer, Jenkins " +
				jenkinstest.DefaultVersion},
	}
	if diff := cmp.Diff(want, parseTable(t, out)); diff != "" {
		t.Errorf("rows (-want +got):\n%s\noutput:\n%s", diff, out)
	}
	if !strings.HasSuffix(out, "\nall 5 checks passed\n") {
		t.Errorf("output does not end with the summary:\n%s", out)
	}
}

func TestCheckProblems(t *testing.T) {
	t.Parallel()
	const ctl = `controllers:
  - name: main
    url: {{URL}}
    user: jenkins-bot
    token_env: JENKINS_MAIN_TOKEN
`
	tests := []struct {
		name      string
		setup     func(t *testing.T, e *checkEnv)
		args      []string
		want      []wantRow
		wantFails int
	}{
		{
			name:  "bot token missing",
			setup: func(t *testing.T, e *checkEnv) { delete(e.env, "SLACK_BOT_TOKEN") },
			want: []wantRow{
				{"config", "FAIL", "SLACK_BOT_TOKEN is required"},
				{"connections", "SKIP", "not checked until the configuration is valid"},
			},
			wantFails: 1,
		},
		{
			name: "tokens swapped: both prefixes wrong, both reported",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["SLACK_BOT_TOKEN"], e.env["SLACK_APP_TOKEN"] =
					e.env["SLACK_APP_TOKEN"], e.env["SLACK_BOT_TOKEN"]
			},
			want: []wantRow{
				{"config", "FAIL", `SLACK_BOT_TOKEN must start with "xoxb-"`},
				{"config", "FAIL", `SLACK_APP_TOKEN must start with "xapp-"`},
			},
			wantFails: 2,
		},
		{
			name: "user token instead of bot token",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["SLACK_BOT_TOKEN"] = "xoxp-1234-user-token-secret"
				e.secrets = append(e.secrets, "xoxp-1234-user-token-secret")
			},
			want:      []wantRow{{"config", "FAIL", `SLACK_BOT_TOKEN must start with "xoxb-"`}},
			wantFails: 1,
		},
		{
			name: "wrong bot token",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["SLACK_BOT_TOKEN"] = "xoxb-0000-wrong-bot-secret"
				e.secrets = append(e.secrets, "xoxb-0000-wrong-bot-secret")
			},
			want: []wantRow{
				{"slack", "FAIL", "Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot"},
				{"slack", "OK", "Socket Mode is enabled"},
				{"jenkins", "OK", "holds Overall/Administer"},
			},
			wantFails: 1,
		},
		{
			name: "wrong app token",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["SLACK_APP_TOKEN"] = "xapp-1-wrong-app-secret"
				e.secrets = append(e.secrets, "xapp-1-wrong-app-secret")
			},
			want: []wantRow{
				{"slack", "FAIL", "Slack refused SLACK_APP_TOKEN (invalid_auth): create an " +
					"app-level token (xapp-) with connections:write"},
				{"slack", "OK", "workspace Fake"},
			},
			wantFails: 1,
		},
		{
			name: "slack unreachable",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["SLACK_API_URL"] = "http://" + closedAddr(t) + "/api/"
			},
			want: []wantRow{
				{"slack", "FAIL", "cannot reach Slack"},
				{"redis", "OK", "answered PING"},
			},
			wantFails: 2,
		},
		{
			name: "redis unreachable",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["REDIS_URL"] = "redis://:redis-secret-pw@" + closedAddr(t) + "/0"
				e.secrets = append(e.secrets, "redis-secret-pw")
			},
			want: []wantRow{
				{"redis", "FAIL", "cannot reach Redis"},
				{"slack", "OK", "workspace Fake"},
			},
			wantFails: 1,
		},
		{
			name: "REDIS_URL not a redis URL",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["REDIS_URL"] = "http://:redis-secret-pw@127.0.0.1:6379"
				e.secrets = append(e.secrets, "redis-secret-pw")
			},
			want: []wantRow{{"config", "FAIL",
				"REDIS_URL must be a redis:// or rediss:// URL"}},
			wantFails: 1,
		},
		{
			name: "REDIS_URL with a database that is not a number",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["REDIS_URL"] = "redis://:redis-secret-pw@127.0.0.1:6379/zero"
				e.secrets = append(e.secrets, "redis-secret-pw")
			},
			want:      []wantRow{{"redis", "FAIL", "REDIS_URL is not a valid redis URL"}},
			wantFails: 1,
		},
		{
			name:  "REDIS_URL empty: embedded store is a warning",
			setup: func(t *testing.T, e *checkEnv) { delete(e.env, "REDIS_URL") },
			want: []wantRow{{"redis", "WARN", "REDIS_URL is empty: an in-process store " +
				"will be used; pending requests and the audit trail are lost on restart"}},
			wantFails: 0,
		},
		{
			name: "jenkins token refused",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["JENKINS_API_TOKEN"] = "11000000000000000000000000000000ff"
				e.secrets = append(e.secrets, e.env["JENKINS_API_TOKEN"])
			},
			want: []wantRow{{"jenkins", "FAIL",
				"the API token for jenkins-bot was refused (401): create a new token"}},
			wantFails: 1,
		},
		{
			name: "jenkins account without Administer",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["JENKINS_USER"] = "reader"
				e.env["JENKINS_API_TOKEN"] = e.addJenkinsUser("reader", false)
			},
			want:      []wantRow{{"jenkins", "FAIL", "reader lacks Overall/Administer: grant it"}},
			wantFails: 1,
		},
		{
			name: "controller unreachable",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["JENKINS_URL"] = "http://" + closedAddr(t) + "/jenkins"
			},
			want:      []wantRow{{"jenkins", "FAIL", "unreachable"}},
			wantFails: 1,
		},
		{
			name: "controller hangs: the timeout ends the check",
			setup: func(t *testing.T, e *checkEnv) {
				e.jenkins.SetFault("/whoAmI", jenkinstest.Fault{Kind: jenkinstest.FaultHang})
			},
			args:      []string{"--timeout", "300ms"},
			want:      []wantRow{{"jenkins", "FAIL", "unreachable"}},
			wantFails: 1,
		},
		{
			name: "controller behind a login page",
			setup: func(t *testing.T, e *checkEnv) {
				e.jenkins.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultLoginPage})
			},
			want:      []wantRow{{"jenkins", "FAIL", "answered with an HTML page"}},
			wantFails: 1,
		},
		{
			name: "JENKINS_URL not http",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["JENKINS_URL"] = "ftp://ci.example.com"
			},
			want: []wantRow{{"config", "FAIL",
				"JENKINS_URL must start with https:// or http://"}},
			wantFails: 1,
		},
		{
			name: "no controller configured",
			setup: func(t *testing.T, e *checkEnv) {
				delete(e.env, "JENKINS_URL")
			},
			want: []wantRow{{"config", "FAIL",
				"JENKINS_URL (with JENKINS_USER and JENKINS_API_TOKEN) or " +
					"JENKINS_CONTROLLERS_FILE is required"}},
			wantFails: 1,
		},
		{
			name: "controllers file: two controllers, one without Administer",
			setup: func(t *testing.T, e *checkEnv) {
				e.controllersFile(t, ctl+`  - name: second
    url: {{URL}}
    user: reader
    token_file: `+e.file(t, "reader.token", e.addJenkinsUser("reader", false)+"\n")+"\n")
				e.env["JENKINS_MAIN_TOKEN"] = e.secrets[2]
			},
			want: []wantRow{
				{"jenkins", "OK", "account jenkins-bot holds Overall/Administer"},
				{"jenkins", "FAIL", "reader lacks Overall/Administer"},
				{"config", "OK", "2 controller(s)"},
			},
			wantFails: 1,
		},
		{
			name: "controllers file: duplicate name",
			setup: func(t *testing.T, e *checkEnv) {
				e.controllersFile(t, ctl+strings.TrimPrefix(ctl, "controllers:\n"))
				e.env["JENKINS_MAIN_TOKEN"] = e.secrets[2]
			},
			want: []wantRow{{"config", "FAIL", `JENKINS_CONTROLLERS_FILE line 6: ` +
				`name "main" is already used on line 2`}},
			wantFails: 1,
		},
		{
			name: "controllers file: missing url",
			setup: func(t *testing.T, e *checkEnv) {
				e.controllersFile(t, strings.Replace(ctl, "    url: {{URL}}\n", "", 1))
				e.env["JENKINS_MAIN_TOKEN"] = e.secrets[2]
			},
			want: []wantRow{{"config", "FAIL",
				"JENKINS_CONTROLLERS_FILE line 2: url is required"}},
			wantFails: 1,
		},
		{
			name:  "controllers file: token_env names an empty variable",
			setup: func(t *testing.T, e *checkEnv) { e.controllersFile(t, ctl) },
			want: []wantRow{{"config", "FAIL", "JENKINS_CONTROLLERS_FILE line 2: " +
				"token_env names JENKINS_MAIN_TOKEN, which is empty"}},
			wantFails: 1,
		},
		{
			name: "controllers file: token_env and token_file",
			setup: func(t *testing.T, e *checkEnv) {
				e.controllersFile(t, ctl+"    token_file: /run/secrets/jenkins\n")
				e.env["JENKINS_MAIN_TOKEN"] = e.secrets[2]
			},
			want: []wantRow{{"config", "FAIL", "JENKINS_CONTROLLERS_FILE line 2: " +
				"set token_env or token_file, not both"}},
			wantFails: 1,
		},
		{
			name: "controllers file: token_file missing",
			setup: func(t *testing.T, e *checkEnv) {
				e.controllersFile(t, strings.Replace(ctl, "token_env: JENKINS_MAIN_TOKEN",
					"token_file: "+filepath.Join(e.dir, "absent"), 1))
			},
			want: []wantRow{{"config", "FAIL", "JENKINS_CONTROLLERS_FILE line 2: " +
				"token_file cannot be read: no such file or directory"}},
			wantFails: 1,
		},
		{
			name: "controllers file: not YAML",
			setup: func(t *testing.T, e *checkEnv) {
				e.controllersFile(t, ctl+"  - name: \"unclosed\n")
			},
			want: []wantRow{{"config", "FAIL",
				"JENKINS_CONTROLLERS_FILE: yaml: line 6: found unexpected end of stream"}},
			wantFails: 1,
		},
		{
			name: "controllers file and JENKINS_URL both set",
			setup: func(t *testing.T, e *checkEnv) {
				url := e.jenkins.URL
				e.controllersFile(t, ctl)
				e.env["JENKINS_MAIN_TOKEN"] = e.secrets[2]
				e.env["JENKINS_URL"] = url
			},
			want: []wantRow{{"config", "FAIL",
				"JENKINS_URL and JENKINS_CONTROLLERS_FILE are both set: keep one"}},
			wantFails: 1,
		},
		{
			name: "token read from a _FILE",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["SLACK_BOT_TOKEN_FILE"] = e.file(t, "bot", e.env["SLACK_BOT_TOKEN"]+"\n")
				delete(e.env, "SLACK_BOT_TOKEN")
			},
			want:      []wantRow{{"slack", "OK", "workspace Fake"}},
			wantFails: 0,
		},
		{
			name: "_FILE names a missing file",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["SLACK_APP_TOKEN_FILE"] = filepath.Join(e.dir, "absent")
				delete(e.env, "SLACK_APP_TOKEN")
			},
			want: []wantRow{{"config", "FAIL",
				"SLACK_APP_TOKEN_FILE: cannot read the file: no such file or directory"}},
			wantFails: 1,
		},
		{
			name: "token and _FILE both set",
			setup: func(t *testing.T, e *checkEnv) {
				e.env["JENKINS_API_TOKEN_FILE"] = e.file(t, "jt", e.env["JENKINS_API_TOKEN"])
			},
			want: []wantRow{{"config", "FAIL",
				"JENKINS_API_TOKEN and JENKINS_API_TOKEN_FILE are both set: keep one"}},
			wantFails: 1,
		},
		{
			name: "requesters missing, approvers malformed, TTL malformed: all reported",
			setup: func(t *testing.T, e *checkEnv) {
				delete(e.env, "REQUESTERS")
				e.env["APPROVERS"] = "U0APP1,alice"
				e.env["APPROVAL_TTL"] = "1 day"
			},
			want: []wantRow{
				{"config", "FAIL", "REQUESTERS is required"},
				{"config", "FAIL", `APPROVERS: "alice" is not a Slack user (U…) or user group (S…) id`},
				{"config", "FAIL", "APPROVAL_TTL must be a duration from 1m to 720h"},
			},
			wantFails: 3,
		},
		{
			name:  "approval TTL too short",
			setup: func(t *testing.T, e *checkEnv) { e.env["APPROVAL_TTL"] = "30s" },
			want: []wantRow{{"config", "FAIL",
				"APPROVAL_TTL must be a duration from 1m to 720h"}},
			wantFails: 1,
		},
		{
			name:      "approvers empty",
			setup:     func(t *testing.T, e *checkEnv) { e.env["APPROVERS"] = " , " },
			want:      []wantRow{{"config", "FAIL", "APPROVERS is required"}},
			wantFails: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newCheckEnv(t)
			tt.setup(t, e)
			start := time.Now()
			out, err := runCheck(t, e, tt.args...)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("check took %v", took)
			}
			if (err != nil) != (tt.wantFails > 0) {
				t.Errorf("check error = %v, want an error: %v", err, tt.wantFails > 0)
			}
			assertRows(t, parseTable(t, out), tt.want, tt.wantFails)
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

func TestCheckArgs(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--timeout", "0s"}, {"--timeout", "soon"}, {"--verbose"}} {
		e := &checkEnv{env: map[string]string{}}
		if _, err := runCheck(t, e, args...); err == nil {
			t.Errorf("check %v = nil error, want one", args)
		}
	}
}
