package jenkins

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// This file runs the embedded scripts with real Groovy 2.4 (the version
// Jenkins bundles) against stand-ins of the Jenkins classes they touch,
// found in testdata/groovy: common/ for classes alike in every supported
// Jenkins, and one directory per flavour for ApiTokenStore, which gained
// token expiry in 2.548. testdata/groovy/runner.groovy evaluates each script
// as the Script Console does (same implicit imports, `out` bound to a
// PrintWriter, a "Result:" line for a non-null value, the stack trace on an
// exception) and records every id the stand-in User.getById was asked for.

// groovyFlavours maps a stand-in directory to whether its tokens can expire.
var groovyFlavours = map[string]bool{"v2263": false, "v2548": true}

// groovyFixture is the Jenkins state the runner builds before one script.
type groovyFixture struct {
	StatsEnabled bool          `json:"statsEnabled"`
	Users        []fixtureUser `json:"users"`
}

type fixtureUser struct {
	ID       string  `json:"id"`
	FullName string  `json:"fullName"`
	Email    *string `json:"email"`
	// NoMailer leaves out the Mailer.UserProperty; NoTokenProperty the
	// ApiTokenProperty.
	NoMailer        bool           `json:"noMailer"`
	NoTokenProperty bool           `json:"noTokenProperty"`
	LegacySecret    bool           `json:"legacySecret"`
	Tokens          []fixtureToken `json:"tokens"`
	Stats           []fixtureStat  `json:"stats"`
}

type fixtureToken struct {
	UUID    string  `json:"uuid"`
	Name    string  `json:"name"`
	Created *int64  `json:"created"`
	Legacy  bool    `json:"legacy"`
	Expires *string `json:"expires"`
}

type fixtureStat struct {
	UUID     string `json:"uuid"`
	UseCount int    `json:"useCount"`
	LastUsed *int64 `json:"lastUsed"`
}

type groovyCase struct {
	Name    string        `json:"name"`
	Script  string        `json:"script"`
	Fixture groovyFixture `json:"fixture"`
}

// groovyResult is what the runner reports for one case.
type groovyResult struct {
	Name    string   `json:"name"`
	Output  string   `json:"output"`
	Lookups []string `json:"lookups"`
	Calls   []string `json:"calls"`
}

// scriptCase is one script run and what it must print.
type scriptCase struct {
	name    string
	script  string
	arg     string
	fixture groovyFixture
	// check asserts on the runner's result; expiry says whether the
	// flavour has token expiry.
	check func(t *testing.T, r groovyResult, expiry bool)
}

func ptrTo[T any](v T) *T { return &v }

const (
	created1 = int64(1724198400000) // 2024-08-21
	created2 = int64(1700000000000)
	used1    = int64(1724284800000)
)

var (
	tokenCI     = fixtureToken{UUID: "1e0a6f0c-ci", Name: "ci", Created: ptrTo(created1)}
	tokenDeploy = fixtureToken{UUID: "2b7d9c44-deploy", Name: "Deploy", Created: ptrTo(created2)}
	tokenLegacy = fixtureToken{UUID: "3c1f-legacy", Name: "Legacy Token", Legacy: true}
	statsCI     = fixtureStat{UUID: tokenCI.UUID, UseCount: 3, LastUsed: ptrTo(used1)}
)

// groovyUsers is the user base most cases share.
func groovyUsers() []fixtureUser {
	return []fixtureUser{
		{ID: "zed", FullName: "Zed", Email: ptrTo("zed@example.com")},
		{ID: "bob", FullName: "Bob Builder", NoMailer: true,
			Tokens: []fixtureToken{tokenDeploy, tokenCI}, Stats: []fixtureStat{statsCI}},
		{ID: "carol", FullName: "Carol", LegacySecret: true,
			Tokens: []fixtureToken{tokenLegacy, tokenCI}},
		{ID: "dave", FullName: "Dave", Email: ptrTo(" "), LegacySecret: true,
			Tokens: []fixtureToken{tokenDeploy}},
		{ID: "alice", FullName: "Alice Example", Email: ptrTo("Alice@Example.com")},
		{ID: "al", FullName: "Al", Email: ptrTo("alice@example.COM")},
		{ID: "nobody-props", FullName: "No Props", NoMailer: true, NoTokenProperty: true},
	}
}

func wantCI(stats bool) Token {
	t := Token{UUID: tokenCI.UUID, Name: "ci", Created: msTime(created1)}
	if stats {
		t.UseCount, t.LastUsed = 3, msTime(used1)
	}
	return t
}

var wantDeploy = Token{UUID: tokenDeploy.UUID, Name: "Deploy", Created: msTime(created2)}

// hostileIDs are ids that would break or change a script if spliced into
// Groovy source.
var hostileIDs = map[string]string{
	"single quote":  `o'brien`,
	"double quote":  `say "hi"`,
	"interpolation": `${System.exit(1)}`,
	"triple quote":  `"""`,
	"backslashes":   `\\server\share\'`,
	"newlines":      "a\nb\r\nc\u2028d",
	"long":          strings.Repeat("x", 5000),
	"nul":           "nul\x00byte",
	"non-ascii":     "Jürgen Ωμέγα 日本 😀",
	"marker":        "'\ndef argB64 = 'AAAA'\n// jenkins-tokens-bot:preflight v1",
}

// scriptCases is every case the runner runs, on every flavour.
func scriptCases() []scriptCase {
	base := groovyFixture{StatsEnabled: true, Users: groovyUsers()}
	cases := append(listTokensCases(base), otherScriptCases(base)...)
	return append(cases, hostileCases(base)...)
}

func listTokensCases(base groovyFixture) []scriptCase {
	statsOff := groovyFixture{StatsEnabled: false, Users: groovyUsers()}
	today := time.Now()
	soon := today.AddDate(0, 0, 3).Format(time.DateOnly)
	expiring := groovyFixture{StatsEnabled: true, Users: []fixtureUser{{
		ID: "erin", FullName: "Erin", Email: ptrTo("erin@example.com"),
		Tokens: []fixtureToken{
			{UUID: "e1", Name: "old", Created: ptrTo(created2), Expires: ptrTo("2020-01-01")},
			{UUID: "e2", Name: "soon", Created: ptrTo(created1), Expires: ptrTo(soon)},
			{UUID: "e3", Name: "forever", Created: ptrTo(created1)},
		},
	}}}
	return []scriptCase{
		{name: "normal tokens", script: scriptListTokens, arg: "bob", fixture: base,
			check: wantListing(Listing{
				User:         User{ID: "bob", FullName: "Bob Builder"},
				StatsEnabled: true,
				Tokens:       []Token{wantCI(true), wantDeploy},
			})},
		{name: "id in other case", script: scriptListTokens, arg: "BoB", fixture: base,
			check: wantListing(Listing{
				User:         User{ID: "bob", FullName: "Bob Builder"},
				StatsEnabled: true,
				Tokens:       []Token{wantCI(true), wantDeploy},
			})},
		{name: "migrated legacy token", script: scriptListTokens, arg: "carol", fixture: base,
			check: wantListing(Listing{
				User:            User{ID: "carol", FullName: "Carol"},
				StatsEnabled:    true,
				HasLegacySecret: true,
				Tokens: []Token{
					{UUID: tokenCI.UUID, Name: "ci", Created: msTime(created1)},
					{UUID: tokenLegacy.UUID, Name: "Legacy Token", Legacy: true},
				},
			})},
		{name: "legacy secret without entry", script: scriptListTokens, arg: "dave",
			fixture: base, check: wantListing(Listing{
				User:            User{ID: "dave", FullName: "Dave"},
				StatsEnabled:    true,
				HasLegacySecret: true,
				Tokens:          []Token{wantDeploy},
			})},
		{name: "stats off", script: scriptListTokens, arg: "bob", fixture: statsOff,
			check: wantListing(Listing{
				User:   User{ID: "bob", FullName: "Bob Builder"},
				Tokens: []Token{wantCI(false), wantDeploy},
			})},
		{name: "email and no tokens", script: scriptListTokens, arg: "alice", fixture: base,
			check: wantListing(Listing{
				User:         User{ID: "alice", FullName: "Alice Example", Email: "Alice@Example.com"},
				StatsEnabled: true,
				Tokens:       []Token{},
			})},
		{name: "no properties", script: scriptListTokens, arg: "nobody-props", fixture: base,
			check: wantListing(Listing{
				User:         User{ID: "nobody-props", FullName: "No Props"},
				StatsEnabled: true,
				Tokens:       []Token{},
			})},
		{name: "expired and expiring", script: scriptListTokens, arg: "erin", fixture: expiring,
			check: wantExpiring(soon)},
		{name: "unknown user", script: scriptListTokens, arg: "nobody", fixture: base,
			check: wantNotFound("nobody")},
		{name: "full name is not an id", script: scriptListTokens, arg: "Bob Builder",
			fixture: base, check: wantNotFound("Bob Builder")},
	}
}

func otherScriptCases(base groovyFixture) []scriptCase {
	return []scriptCase{
		{name: "email two matches", script: scriptFindByEmail, arg: "ALICE@example.com",
			fixture: base, check: wantUsers(
				User{ID: "al", FullName: "Al", Email: "alice@example.COM"},
				User{ID: "alice", FullName: "Alice Example", Email: "Alice@Example.com"},
			)},
		{name: "email no match", script: scriptFindByEmail, arg: "alice@example.org",
			fixture: base, check: wantUsers()},
		{name: "email blank", script: scriptFindByEmail, arg: " ", fixture: base,
			check: wantUsers()},
		{name: "preflight", script: scriptPreflight, fixture: base, check: wantPreflight},
	}
}

// hostileCases run both scripts with ids that would break spliced Groovy.
func hostileCases(base groovyFixture) []scriptCase {
	var cases []scriptCase
	for name, id := range hostileIDs {
		cases = append(cases,
			scriptCase{name: "hostile id " + name, script: scriptListTokens, arg: id,
				fixture: base, check: wantNotFound(id)},
			scriptCase{name: "hostile email " + name, script: scriptFindByEmail, arg: id,
				fixture: base, check: wantUsers()})
	}
	odd := `o'brien "\${x}"` + "\n" + `"""\`
	cases = append(cases, scriptCase{name: "hostile id of an existing user",
		script: scriptListTokens, arg: odd,
		fixture: groovyFixture{StatsEnabled: true, Users: []fixtureUser{
			{ID: odd, FullName: odd, Email: ptrTo(odd), Tokens: []fixtureToken{tokenCI}},
		}},
		check: func(t *testing.T, r groovyResult, expiry bool) {
			wantLookups(t, r, []string{odd}, []string{"User.getById"})
			wantListing(Listing{User: User{ID: odd, FullName: odd, Email: odd},
				StatsEnabled: true, Tokens: []Token{wantCI(false)}})(t, r, expiry)
		}})
	return cases
}

func TestGroovyScripts(t *testing.T) {
	t.Parallel()
	env := groovyEnv(t)
	cases := scriptCases()

	results := make(map[string]map[string]groovyResult)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for flavour := range groovyFlavours {
		wg.Go(func() {
			r := runGroovyFlavour(t, env, flavour, cases)
			mu.Lock()
			results[flavour] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for flavour, expiry := range groovyFlavours {
		for _, c := range cases {
			t.Run(flavour+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				r, ok := results[flavour][c.name]
				if !ok {
					t.Fatalf("runner reported no result for %q", c.name)
				}
				c.check(t, r, expiry)
			})
		}
	}
}

// groovyEnv returns the environment to run groovy and groovyc in, skipping
// the test when they are not installed, or failing it when CI is set.
func groovyEnv(t *testing.T) []string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		msg := what + ": install Groovy 2.4 and a JDK (Debian: apt-get install groovy) " +
			"to run the scripts for real"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, tool := range []string{"groovy", "groovyc"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(tool + " not found")
		}
	}
	env := os.Environ()
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if _, err := os.Stat(filepath.Join(home, "bin", "java")); err == nil {
			return env
		}
	}
	java, err := exec.LookPath("java")
	if err != nil {
		missing("java not found")
	}
	real, err := filepath.EvalSymlinks(java)
	if err != nil {
		missing("resolve java: " + err.Error())
	}
	return append(env, "JAVA_HOME="+filepath.Dir(filepath.Dir(real)))
}

// runGroovyFlavour compiles the stand-ins of one flavour and runs every
// case through the runner in one JVM, returning the results by case name.
// It reports failures with t.Errorf, as it runs outside the test goroutine.
func runGroovyFlavour(t *testing.T, env []string, flavour string,
	cases []scriptCase) map[string]groovyResult {
	dir := t.TempDir()
	classes := filepath.Join(dir, "classes")
	sources, err := standinSources("common", flavour)
	if err != nil {
		t.Errorf("%s: %v", flavour, err)
		return nil
	}
	args := append([]string{"-j", "-d", classes}, sources...)
	if _, err := runTool(t, env, "groovyc", args...); err != nil {
		t.Errorf("%s: compile stand-ins: %v", flavour, err)
		return nil
	}

	in := struct {
		Cases []groovyCase `json:"cases"`
	}{}
	for _, c := range cases {
		in.Cases = append(in.Cases, groovyCase{Name: c.name,
			Script: renderScript(c.script, c.arg), Fixture: c.fixture})
	}
	casesFile := filepath.Join(dir, "cases.json")
	resultsFile := filepath.Join(dir, "results.json")
	if err := writeJSON(casesFile, in); err != nil {
		t.Errorf("%s: %v", flavour, err)
		return nil
	}
	runner := filepath.Join("testdata", "groovy", "runner.groovy")
	if _, err := runTool(t, env, "groovy", "-cp", classes, runner,
		casesFile, resultsFile); err != nil {
		t.Errorf("%s: run scripts: %v", flavour, err)
		return nil
	}
	return readResults(t, flavour, resultsFile)
}

func standinSources(dirs ...string) ([]string, error) {
	var files []string
	for _, d := range dirs {
		root := filepath.Join("testdata", "groovy", d)
		err := filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".java") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

func runTool(t *testing.T, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &toolError{err: err, stderr: stderr.String()}
	}
	return out, nil
}

type toolError struct {
	err    error
	stderr string
}

func (e *toolError) Error() string { return e.err.Error() + "\n" + e.stderr }

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func readResults(t *testing.T, flavour, path string) map[string]groovyResult {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: read results: %v", flavour, err)
		return nil
	}
	var out struct {
		Results []groovyResult `json:"results"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Errorf("%s: decode results: %v", flavour, err)
		return nil
	}
	m := make(map[string]groovyResult, len(out.Results))
	for _, r := range out.Results {
		m[r.Name] = r
	}
	return m
}

// wantListing expects list-tokens to print want and to look up only the
// user it was given.
func wantListing(want Listing) func(*testing.T, groovyResult, bool) {
	return func(t *testing.T, r groovyResult, _ bool) {
		t.Helper()
		got, found, err := parseListing(r.Output)
		if err != nil || !found {
			t.Fatalf("parseListing(%q) = found %v, %v", brief(r.Output), found, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("listing mismatch (-want +got):\n%s", diff)
		}
		if len(r.Lookups) != 1 || len(r.Calls) != 1 {
			t.Errorf("lookups %q, calls %q; want one getById", r.Lookups, r.Calls)
		}
	}
}

// wantExpiring checks the expiry case: dates only where Jenkins has them.
func wantExpiring(soon string) func(*testing.T, groovyResult, bool) {
	return func(t *testing.T, r groovyResult, expiry bool) {
		t.Helper()
		old := Token{UUID: "e1", Name: "old", Created: msTime(created2)}
		soonTok := Token{UUID: "e2", Name: "soon", Created: msTime(created1)}
		if expiry {
			old.Expires, old.Expired = "2020-01-01", true
			soonTok.Expires = soon
		}
		wantListing(Listing{
			User:         User{ID: "erin", FullName: "Erin", Email: "erin@example.com"},
			StatsEnabled: true,
			Tokens: []Token{
				{UUID: "e3", Name: "forever", Created: msTime(created1)}, old, soonTok,
			},
		})(t, r, expiry)
	}
}

// wantNotFound expects {"found":false} after exactly one lookup of id.
func wantNotFound(id string) func(*testing.T, groovyResult, bool) {
	return func(t *testing.T, r groovyResult, _ bool) {
		t.Helper()
		l, found, err := parseListing(r.Output)
		if err != nil || found || !cmp.Equal(l, Listing{}) {
			t.Fatalf("parseListing(%q) = %+v, found %v, %v; want not found",
				brief(r.Output), l, found, err)
		}
		wantLookups(t, r, []string{id}, []string{"User.getById"})
	}
}

// wantUsers expects find-by-email to print want after one User.getAll.
func wantUsers(want ...User) func(*testing.T, groovyResult, bool) {
	if want == nil {
		want = []User{}
	}
	return func(t *testing.T, r groovyResult, _ bool) {
		t.Helper()
		got, err := parseUsers(r.Output)
		if err != nil {
			t.Fatalf("parseUsers(%q): %v", brief(r.Output), err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("users mismatch (-want +got):\n%s", diff)
		}
		wantLookups(t, r, []string{}, []string{"User.getAll"})
	}
}

func wantPreflight(t *testing.T, r groovyResult, _ bool) {
	t.Helper()
	if err := parsePreflight(r.Output); err != nil {
		t.Fatal(err)
	}
	wantLookups(t, r, []string{}, []string{})
}

// brief cuts script output, which may be a long stack trace, for a message.
func brief(out string) string {
	if len(out) > 400 {
		return out[:400] + "..."
	}
	return out
}

// wantLookups compares, byte for byte, the ids the stand-in User.getById
// saw and the stand-in entry points the script called.
func wantLookups(t *testing.T, r groovyResult, ids, calls []string) {
	t.Helper()
	if diff := cmp.Diff(ids, r.Lookups); diff != "" {
		t.Errorf("ids looked up (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(calls, r.Calls); diff != "" {
		t.Errorf("stand-in calls (-want +got):\n%s", diff)
	}
}
