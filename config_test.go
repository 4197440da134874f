package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// goodConfig is a complete single-controller configuration.
func goodConfig() map[string]string {
	return map[string]string{
		"SLACK_APP_TOKEN":   "xapp-1-secret-app",
		"SLACK_BOT_TOKEN":   "xoxb-secret-bot",
		"JENKINS_URL":       "https://ci.example.com",
		"JENKINS_USER":      "jenkins-bot",
		"JENKINS_API_TOKEN": "11secretjenkinstoken",
		"REQUESTERS":        "U012AB3CD, SGROUP1",
		"APPROVERS":         "SAPPROVERS",
	}
}

func lookup(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(lookup(goodConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if c.ApprovalTTL != 24*time.Hour || c.ApprovalsRequired != 1 || c.HTTPAddr != ":8080" ||
		c.LogFormat != "json" || c.DryRun {
		t.Errorf("defaults wrong: %+v", c)
	}
	if diff := cmp.Diff([]string{"U012AB3CD", "SGROUP1"}, c.Requesters); diff != "" {
		t.Errorf("requesters (-want +got):\n%s", diff)
	}
	if len(c.Controllers) != 1 || c.Controllers[0].Token.Reveal() != "11secretjenkinstoken" {
		t.Errorf("controller not read: %+v", c.Controllers)
	}
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SLACK_APP_TOKEN":    "xoxb-wrong-kind-secret",
		"SLACK_BOT_TOKEN":    "",
		"REQUESTERS":         "alice",
		"APPROVALS_REQUIRED": "zero",
		"APPROVAL_TTL":       "soon",
		"DRY_RUN":            "maybe",
		"LOG_FORMAT":         "xml",
		"REDIS_URL":          "http://redis:6379",
	}
	_, err := loadConfig(lookup(env))
	if err == nil {
		t.Fatal("loadConfig accepted a broken configuration")
	}
	for _, want := range []string{
		`SLACK_APP_TOKEN must start with "xapp-"`, "SLACK_BOT_TOKEN is required",
		`REQUESTERS: "alice" is not a Slack`, "APPROVERS is required",
		"APPROVALS_REQUIRED", "APPROVAL_TTL", "DRY_RUN", "LOG_FORMAT", "REDIS_URL",
		"JENKINS_URL",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "wrong-kind-secret") {
		t.Errorf("error echoes a secret value:\n%v", err)
	}
}

func TestLoadConfigSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bot-token")
	if err := os.WriteFile(path, []byte("xoxb-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := goodConfig()
	delete(env, "SLACK_BOT_TOKEN")
	env["SLACK_BOT_TOKEN_FILE"] = path
	env["JENKINS_API_TOKEN_FILE"] = filepath.Join(dir, "missing")
	c, err := loadConfig(lookup(env))
	if err == nil || !strings.Contains(err.Error(), "JENKINS_API_TOKEN and "+
		"JENKINS_API_TOKEN_FILE are both set") ||
		!strings.Contains(err.Error(), "JENKINS_API_TOKEN_FILE: cannot read") {
		t.Fatalf("err = %v", err)
	}
	if c.BotToken.Reveal() != "xoxb-from-file" {
		t.Errorf("bot token from file = %q", c.BotToken.Reveal())
	}
}

func TestControllersFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "controllers.yaml")
	yaml := `controllers:
  - name: main
    url: https://main.example.com
    user: bot
    token_env: MAIN_TOKEN
  - name: main
    url: https://other.example.com
    user: bot
    token_env: EMPTY_TOKEN
  - name: edge
    user: bot
    token_env: MAIN_TOKEN
    token_file: /nowhere
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := goodConfig()
	delete(env, "JENKINS_URL")
	env["JENKINS_CONTROLLERS_FILE"] = file
	env["MAIN_TOKEN"] = "11maintoken"
	_, err := loadConfig(lookup(env))
	for _, want := range []string{
		`line 6: name "main" is already used on line 2`,
		"line 6: token_env names EMPTY_TOKEN, which is empty",
		"line 10: url is required",
		"line 10: set token_env or token_file, not both",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "11maintoken") {
		t.Errorf("error echoes a token")
	}
}

func TestControllersFileGood(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "controllers.yaml")
	tokenFile := filepath.Join(dir, "edge-token")
	if err := os.WriteFile(tokenFile, []byte("11edge\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "controllers:\n" +
		"  - {name: main, url: 'https://main.example.com', user: bot, token_env: MAIN}\n" +
		"  - {name: edge, url: 'https://edge.example.com', user: bot, token_file: " +
		tokenFile + "}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := goodConfig()
	delete(env, "JENKINS_URL")
	env["JENKINS_CONTROLLERS_FILE"] = file
	env["MAIN"] = "11main"
	c, err := loadConfig(lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cc := range c.Controllers {
		got = append(got, cc.Name+"="+cc.Token.Reveal())
	}
	if diff := cmp.Diff([]string{"main=11main", "edge=11edge"}, got); diff != "" {
		t.Errorf("controllers (-want +got):\n%s", diff)
	}
}

func FuzzParseControllers(f *testing.F) {
	f.Add("controllers:\n  - {name: a, url: 'https://a', user: b, token_env: T}\n")
	f.Add("controllers: 3")
	f.Add("- a\n- b")
	f.Fuzz(func(t *testing.T, doc string) {
		var errs configErrors
		cs := parseControllers(strings.NewReader(doc), lookup(map[string]string{"T": "x"}),
			&errs)
		for _, c := range cs {
			if c.Name == "" || c.URL == "" || c.User == "" || c.Token.IsZero() {
				t.Fatalf("accepted an incomplete controller %+v", c)
			}
		}
	})
}

// offboardingConfig is the offboarding part of config.
type offboardingConfig struct {
	Channels, Keywords []string
	IDRule             string
	Auto               bool
}

func TestLoadConfigOffboarding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    offboardingConfig
		wantErr string
	}{
		{name: "defaults", env: map[string]string{}},
		{name: "all set", env: map[string]string{
			"OFFBOARDING_CHANNELS":         "CHR1, CHR2",
			"OFFBOARDING_KEYWORDS":         " leaving , last day,,Kündigung ",
			"JENKINS_ID_FROM_EMAIL":        "LocalPart",
			"AUTO_REQUEST_ON_DEACTIVATION": "true",
		}, want: offboardingConfig{
			Channels: []string{"CHR1", "CHR2"},
			Keywords: []string{"leaving", "last day", "Kündigung"},
			IDRule:   "localpart",
			Auto:     true,
		}},
		{name: "unknown id rule", env: map[string]string{"JENKINS_ID_FROM_EMAIL": "uid"},
			wantErr: "JENKINS_ID_FROM_EMAIL must be localpart or empty"},
		{name: "auto request without channel",
			env:     map[string]string{"AUTO_REQUEST_ON_DEACTIVATION": "1"},
			wantErr: "AUTO_REQUEST_ON_DEACTIVATION needs OFFBOARDING_CHANNELS"},
		{name: "auto request not a bool",
			env:     map[string]string{"AUTO_REQUEST_ON_DEACTIVATION": "yes please"},
			wantErr: "AUTO_REQUEST_ON_DEACTIVATION must be true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := goodConfig()
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := loadConfig(lookup(env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := offboardingConfig{c.OffboardingChannels, c.OffboardingKeywords,
				c.JenkinsIDFromEmail, c.AutoRequestOnDeactivation}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("offboarding config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadConfigChecksURLsAndIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, value, want string
	}{
		{"credentials in url", "JENKINS_URL", "https://bot:hunter2@ci.example.com",
			"JENKINS_URL must not contain credentials"},
		{"ftp url", "JENKINS_URL", "ftp://ci.example.com", "JENKINS_URL must start with"},
		{"malformed requester only", "REQUESTERS", "U1", `REQUESTERS: "U1" is not`},
		{"channel as requester", "REQUESTERS", "C0123ABCD", `REQUESTERS: "C0123ABCD" is not`},
		{"user as offboarding channel", "OFFBOARDING_CHANNELS", "U0123ABCD",
			`OFFBOARDING_CHANNELS: "U0123ABCD" is not a Slack channel id`},
		{"two audit channels", "AUDIT_CHANNEL", "C0123ABCD,C0456EFGH",
			"AUDIT_CHANNEL names one channel"},
		{"ttl of a year", "APPROVAL_TTL", "8760h", "APPROVAL_TTL must be a duration from 1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := goodConfig()
			env[tt.key] = tt.value
			_, err := loadConfig(lookup(env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes a password")
			}
			if strings.Contains(err.Error(), "is required") {
				t.Errorf("a malformed value is also reported as missing:\n%v", err)
			}
		})
	}
}

func TestControllersFileEmptyList(t *testing.T) {
	t.Parallel()
	var errs configErrors
	parseControllers(strings.NewReader("controllers: []\n"), lookup(nil), &errs)
	if len(errs) != 1 || !strings.Contains(errs[0], "line 1: the controllers list is empty") {
		t.Errorf("errors = %v", errs)
	}
}
