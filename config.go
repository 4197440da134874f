package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// config is everything the process reads from its environment.
type config struct {
	AppToken            jenkins.Secret
	BotToken            jenkins.Secret
	SlackAPIURL         string
	Controllers         []jenkins.Config
	RedisURL            string
	Requesters          []string
	Approvers           []string
	ApprovalsRequired   int
	ApprovalTTL         time.Duration
	DryRun              bool
	OffboardingChannels []string
	AuditChannel        string
	HTTPAddr            string
	LogLevel            string
	LogFormat           string

	// OffboardingKeywords, JenkinsIDFromEmail and AutoRequestOnDeactivation
	// tune offboarding from Slack threads (see bot.Config).
	OffboardingKeywords       []string
	JenkinsIDFromEmail        string
	AutoRequestOnDeactivation bool
}

// configErrors collects every problem so that all are reported at once.
type configErrors []string

func (e *configErrors) add(format string, args ...any) {
	*e = append(*e, fmt.Sprintf(format, args...))
}

// err returns nil when there is no problem, and e itself otherwise, so that
// callers can list the problems with errors.As.
func (e configErrors) err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Error lists every problem, one per line.
func (e configErrors) Error() string {
	return "configuration:\n  " + strings.Join(e, "\n  ")
}

// loadConfig reads the configuration. It reports every problem at once,
// names the variable, and never echoes a value that may be secret.
func loadConfig(getenv func(string) string) (*config, error) {
	var errs configErrors
	c := &config{
		SlackAPIURL:  getenv("SLACK_API_URL"),
		RedisURL:     getenv("REDIS_URL"),
		AuditChannel: getenv("AUDIT_CHANNEL"),
		HTTPAddr:     orDefault(getenv("HTTP_ADDR"), ":8080"),
		LogLevel:     orDefault(getenv("LOG_LEVEL"), "info"),
		LogFormat:    orDefault(getenv("LOG_FORMAT"), "json"),
	}
	c.AppToken = secret(getenv, "SLACK_APP_TOKEN", "xapp-", &errs)
	c.BotToken = secret(getenv, "SLACK_BOT_TOKEN", "xoxb-", &errs)
	if c.SlackAPIURL != "" && !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}
	c.Requesters = idList(getenv, "REQUESTERS", memberIDs, true, &errs)
	c.Approvers = idList(getenv, "APPROVERS", memberIDs, true, &errs)
	c.OffboardingChannels = idList(getenv, "OFFBOARDING_CHANNELS", channelIDs, false, &errs)
	if a := idList(getenv, "AUDIT_CHANNEL", channelIDs, false, &errs); len(a) > 1 {
		errs.add("AUDIT_CHANNEL names one channel, not a list")
	}
	offboardingVars(c, getenv, &errs)
	c.ApprovalsRequired = intVar(getenv, "APPROVALS_REQUIRED", 1, &errs)
	c.ApprovalTTL = durationVar(getenv, "APPROVAL_TTL", 24*time.Hour, &errs)
	c.DryRun = boolVar(getenv, "DRY_RUN", &errs)
	c.Controllers = controllers(getenv, &errs)
	checkChoices(c, &errs)
	return c, errs.err()
}

// offboardingVars reads OFFBOARDING_KEYWORDS, JENKINS_ID_FROM_EMAIL and
// AUTO_REQUEST_ON_DEACTIVATION.
func offboardingVars(c *config, getenv func(string) string, errs *configErrors) {
	for _, k := range strings.Split(getenv("OFFBOARDING_KEYWORDS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.OffboardingKeywords = append(c.OffboardingKeywords, k)
		}
	}
	c.JenkinsIDFromEmail = strings.ToLower(strings.TrimSpace(getenv("JENKINS_ID_FROM_EMAIL")))
	switch c.JenkinsIDFromEmail {
	case "", "localpart":
	default:
		errs.add("JENKINS_ID_FROM_EMAIL must be localpart or empty")
	}
	c.AutoRequestOnDeactivation = boolVar(getenv, "AUTO_REQUEST_ON_DEACTIVATION", errs)
	if c.AutoRequestOnDeactivation && len(c.OffboardingChannels) == 0 {
		errs.add("AUTO_REQUEST_ON_DEACTIVATION needs OFFBOARDING_CHANNELS: the request " +
			"is posted in the first one")
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// secret reads NAME, or the file named by NAME_FILE, and checks its prefix.
func secret(getenv func(string) string, name, prefix string, errs *configErrors) jenkins.Secret {
	v := getenv(name)
	if f := getenv(name + "_FILE"); f != "" {
		if v != "" {
			errs.add("%s and %s_FILE are both set: keep one", name, name)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			errs.add("%s_FILE: cannot read the file: %v", name, errors.Unwrap(err))
			return jenkins.Secret{}
		}
		v = strings.TrimSpace(string(b))
	}
	switch {
	case v == "":
		errs.add("%s is required", name)
	case prefix != "" && !strings.HasPrefix(v, prefix):
		errs.add("%s must start with %q", name, prefix)
	}
	return jenkins.NewSecret(v)
}

// idList reads a comma list of Slack ids whose first letter is one of kinds:
// U and W for users, S for user groups, C and G for channels.
func idList(getenv func(string) string, name, kinds string, required bool,
	errs *configErrors) []string {
	var out []string
	bad := false
	for _, id := range strings.Split(getenv(name), ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !validSlackID(id) || !strings.ContainsRune(kinds, rune(id[0])) {
			errs.add("%s: %q is not a Slack %s id", name, id, kindWords(kinds))
			bad = true
			continue
		}
		out = append(out, id)
	}
	if required && len(out) == 0 && !bad {
		errs.add("%s is required: a comma list of Slack %s ids", name, kindWords(kinds))
	}
	return out
}

func kindWords(kinds string) string {
	if kinds == channelIDs {
		return "channel"
	}
	return "user (U…) or user group (S…)"
}

// The first letters of Slack ids, by what they name.
const (
	memberIDs  = "UWS"
	channelIDs = "CG"
)

func validSlackID(id string) bool {
	if len(id) < 3 || len(id) > 24 || !strings.ContainsRune("UWSCG", rune(id[0])) {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func intVar(getenv func(string) string, name string, def int, errs *configErrors) int {
	v := getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10 {
		errs.add("%s must be a whole number from 1 to 10", name)
		return def
	}
	return n
}

// maxTTL bounds how long a request may wait: a month-old approval request
// no longer describes what anyone saw.
const maxTTL = 30 * 24 * time.Hour

func durationVar(getenv func(string) string, name string, def time.Duration,
	errs *configErrors) time.Duration {
	v := getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute || d > maxTTL {
		errs.add("%s must be a duration from 1m to 720h, such as 24h", name)
		return def
	}
	return d
}

func boolVar(getenv func(string) string, name string, errs *configErrors) bool {
	v := getenv(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		errs.add("%s must be true or false", name)
	}
	return b
}

func checkChoices(c *config, errs *configErrors) {
	switch c.LogFormat {
	case "json", "text":
	default:
		errs.add("LOG_FORMAT must be json or text")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs.add("LOG_LEVEL must be debug, info, warn or error")
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil ||
			(u.Scheme != "redis" && u.Scheme != "rediss") {
			errs.add("REDIS_URL must be a redis:// or rediss:// URL")
		}
	}
}

// controllers reads one controller from JENKINS_URL, JENKINS_USER and
// JENKINS_API_TOKEN, or many from the YAML file JENKINS_CONTROLLERS_FILE.
func controllers(getenv func(string) string, errs *configErrors) []jenkins.Config {
	file := getenv("JENKINS_CONTROLLERS_FILE")
	if file == "" {
		if getenv("JENKINS_URL") == "" {
			errs.add("JENKINS_URL (with JENKINS_USER and JENKINS_API_TOKEN) or " +
				"JENKINS_CONTROLLERS_FILE is required")
			return nil
		}
		c := jenkins.Config{Name: "jenkins", URL: getenv("JENKINS_URL"),
			User: getenv("JENKINS_USER")}
		if c.User == "" {
			errs.add("JENKINS_USER is required with JENKINS_URL")
		}
		if p := urlProblem(c.URL); p != "" {
			errs.add("JENKINS_URL %s", p)
		}
		c.Token = secret(getenv, "JENKINS_API_TOKEN", "", errs)
		return []jenkins.Config{c}
	}
	if getenv("JENKINS_URL") != "" {
		errs.add("JENKINS_URL and JENKINS_CONTROLLERS_FILE are both set: keep one")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		errs.add("JENKINS_CONTROLLERS_FILE: cannot read the file: %v", errors.Unwrap(err))
		return nil
	}
	return parseControllers(bytes.NewReader(b), getenv, errs)
}

// urlProblem says what is wrong with a controller URL, never quoting it:
// it might carry a password.
func urlProblem(raw string) string {
	if raw == "" {
		return "is required"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "does not parse"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with https:// or http://"
	case u.Host == "":
		return "has no host"
	case u.User != nil:
		return "must not contain credentials; use user and token"
	}
	return ""
}

// controllerEntry is one item of the controllers YAML file.
type controllerEntry struct {
	Name      string `yaml:"name"`
	URL       string `yaml:"url"`
	User      string `yaml:"user"`
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
}

// parseControllers reads the controllers YAML, reporting each problem with
// its line number.
func parseControllers(r io.Reader, getenv func(string) string,
	errs *configErrors) []jenkins.Config {
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		errs.add("JENKINS_CONTROLLERS_FILE: %v", err)
		return nil
	}
	list := controllersNode(&doc)
	if list == nil {
		errs.add("JENKINS_CONTROLLERS_FILE: expected a top-level `controllers:` list")
		return nil
	}
	if len(list.Content) == 0 {
		errs.add("JENKINS_CONTROLLERS_FILE line %d: the controllers list is empty", list.Line)
		return nil
	}
	var out []jenkins.Config
	seen := map[string]int{}
	for _, item := range list.Content {
		var e controllerEntry
		if err := item.Decode(&e); err != nil {
			errs.add("JENKINS_CONTROLLERS_FILE line %d: %v", item.Line, err)
			continue
		}
		if prev, dup := seen[e.Name]; dup && e.Name != "" {
			errs.add("JENKINS_CONTROLLERS_FILE line %d: name %q is already used on line %d",
				item.Line, e.Name, prev)
		}
		seen[e.Name] = item.Line
		if c, ok := controllerConfig(e, item.Line, getenv, errs); ok {
			out = append(out, c)
		}
	}
	return out
}

func controllersNode(doc *yaml.Node) *yaml.Node {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "controllers" && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1]
		}
	}
	return nil
}

func controllerConfig(e controllerEntry, line int, getenv func(string) string,
	errs *configErrors) (jenkins.Config, bool) {
	at := fmt.Sprintf("JENKINS_CONTROLLERS_FILE line %d", line)
	n := len(*errs)
	if e.Name == "" {
		errs.add("%s: name is required", at)
	}
	if p := urlProblem(e.URL); p != "" {
		errs.add("%s: url %s", at, p)
	}
	if e.User == "" {
		errs.add("%s: user is required", at)
	}
	var tok string
	switch {
	case e.TokenEnv != "" && e.TokenFile != "":
		errs.add("%s: set token_env or token_file, not both", at)
	case e.TokenEnv != "":
		if tok = getenv(e.TokenEnv); tok == "" {
			errs.add("%s: token_env names %s, which is empty", at, e.TokenEnv)
		}
	case e.TokenFile != "":
		b, err := os.ReadFile(e.TokenFile)
		if err != nil {
			errs.add("%s: token_file cannot be read: %v", at, errors.Unwrap(err))
		}
		tok = strings.TrimSpace(string(b))
	default:
		errs.add("%s: token_env or token_file is required", at)
	}
	c := jenkins.Config{Name: e.Name, URL: e.URL, User: e.User, Token: jenkins.NewSecret(tok)}
	return c, len(*errs) == n
}
