package jenkinstest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a fake with an admin "bot", a plain user "alice" and an
// admin-less user "carol" (password auth), all with tokens.
type fixture struct {
	srv                 *Server
	botTok, carolTok    string
	aliceTok, aliceUUID string
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return epoch }
	}
	s := New(t, opts)
	s.AddUser(User{ID: "bot", Admin: true, Password: "botpw"})
	s.AddUser(User{ID: "alice", FullName: "Alice Example", Email: "alice@example.com"})
	s.AddUser(User{ID: "carol", Password: "carolpw"})
	f := &fixture{srv: s}
	_, f.botTok = s.AddToken("bot", TokenSpec{Name: "bot"})
	f.aliceUUID, f.aliceTok = s.AddToken("alice", TokenSpec{Name: "ci"})
	_, f.carolTok = s.AddToken("carol", TokenSpec{Name: "c"})
	return f
}

type req struct {
	method, path string
	user, secret string
	form         url.Values
	header       http.Header
}

type resp struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, base string, r req) resp {
	t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	hr, err := http.NewRequestWithContext(t.Context(), r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		hr.Header[k] = v
	}
	if r.user != "" {
		hr.SetBasicAuth(r.user, r.secret)
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (f *fixture) do(t *testing.T, r req) resp {
	t.Helper()
	return do(t, nil, f.srv.URL, r)
}

func script(name, arg string) url.Values {
	src := "// jenkins-tokens-bot:" + name + " v1\n"
	if arg != "" {
		src += "def argB64 = '" + base64.StdEncoding.EncodeToString([]byte(arg)) + "'\n"
	}
	return url.Values{"script": {src + "println('x')\n"}}
}

const revokePath = "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/"

func TestPipelineStatuses(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name       string
		r          req
		wantStatus int
		wantHeader map[string]string
		wantBody   string
	}{
		{"semicolon", req{method: "GET", path: "/user/al;ice/api/json", user: "bot",
			secret: f.botTok}, 400, nil, "Semicolons"},
		{"bad token", req{method: "GET", path: "/whoAmI/api/json", user: "bot",
			secret: "11" + strings.Repeat("0", 32)}, 401,
			map[string]string{"WWW-Authenticate": `Basic realm="Jenkins"`}, ""},
		{"unknown user token", req{method: "GET", path: "/whoAmI/api/json",
			user: "nobody", secret: f.botTok}, 401, nil, ""},
		{"anonymous read denied", req{method: "GET", path: "/user/alice/api/json"},
			403, map[string]string{"X-Jenkins": DefaultVersion}, "login"},
		{"anonymous whoAmI", req{method: "GET", path: "/whoAmI/api/json"}, 200, nil,
			`"anonymous":true`},
		{"script needs admin", req{method: "POST", path: "/scriptText", user: "alice",
			secret: f.aliceTok, form: script("preflight", "")}, 403,
			map[string]string{"X-Required-Permission": "hudson.model.Hudson.Administer",
				"X-You-Are-Authenticated-As": "alice"}, ""},
		{"script missing", req{method: "POST", path: "/scriptText", user: "bot",
			secret: f.botTok, form: url.Values{}}, 200, nil, ""},
		{"script via GET", req{method: "GET", path: "/scriptText?script=x", user: "bot",
			secret: f.botTok}, 405, map[string]string{"Allow": "POST"}, ""},
		{"unknown script", req{method: "POST", path: "/scriptText", user: "bot",
			secret: f.botTok, form: url.Values{"script": {"println 1"}}}, 200, nil,
			"groovy.lang.MissingPropertyException"},
		{"revoke unknown uuid", req{method: "POST", path: revokePath + "revoke",
			user: "bot", secret: f.botTok, form: url.Values{"tokenUuid": {"nope"}}},
			200, nil, ""},
		{"revoke blank uuid", req{method: "POST", path: revokePath + "revoke",
			user: "bot", secret: f.botTok, form: url.Values{"tokenUuid": {" "}}},
			400, nil, "cannot be empty"},
		{"revoke via GET", req{method: "GET", path: revokePath + "revoke?tokenUuid=x",
			user: "bot", secret: f.botTok}, 405, nil, ""},
		{"revoke unknown user", req{method: "POST", path: "/user/zed/descriptorByName/" +
			"jenkins.security.ApiTokenProperty/revoke", user: "bot", secret: f.botTok,
			form: url.Values{"tokenUuid": {"x"}}}, 404, nil, ""},
		{"revoke other user as non-admin", req{method: "POST", path: revokePath +
			"revoke", user: "carol", secret: f.carolTok,
			form: url.Values{"tokenUuid": {"x"}}}, 403,
			map[string]string{"X-Required-Permission": "hudson.model.Hudson.Administer"},
			""},
		{"password POST without crumb", req{method: "POST", path: "/scriptText",
			user: "bot", secret: "botpw", form: script("preflight", "")}, 403, nil,
			"No valid crumb"},
		{"crumb failure hides 404", req{method: "POST", path: "/user/zed/x",
			user: "carol", secret: "carolpw", form: url.Values{}}, 403, nil, "crumb"},
		{"unknown route", req{method: "GET", path: "/nothing", user: "bot",
			secret: f.botTok}, 404, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.do(t, tt.r)
			if got.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %q", got.status, tt.wantStatus, got.body)
			}
			for k, v := range tt.wantHeader {
				if got.header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, got.header.Get(k), v)
				}
			}
			if !strings.Contains(got.body, tt.wantBody) {
				t.Errorf("body %q does not contain %q", got.body, tt.wantBody)
			}
		})
	}
	if st, _ := f.srv.UserState("alice"); len(st.Tokens) != 1 {
		t.Errorf("alice's token was removed by a refused request: %+v", st.Tokens)
	}
}

func TestListTokensScriptOutput(t *testing.T) {
	f := newFixture(t, Options{Version: "2.550"})
	s := f.srv
	legacyUUID, _ := s.AddLegacyToken("alice")
	expUUID, _ := s.AddToken("alice", TokenSpec{Name: "Deploy", Expires: "2026-02-01"})
	// Use alice's "ci" token once, so statistics show.
	f.do(t, req{method: "GET", path: "/whoAmI/api/json", user: "alice", secret: f.aliceTok})

	got := f.do(t, req{method: "POST", path: "/scriptText", user: "bot", secret: f.botTok,
		form: script("list-tokens", "ALICE")})
	ms := epoch.UnixMilli()
	want := `{"found":true,"user":{"id":"alice","fullName":"Alice Example",` +
		`"email":"alice@example.com"},"statsEnabled":true,"hasLegacySecret":true,` +
		`"tokens":[{"uuid":"` + f.aliceUUID + `","name":"ci","legacy":false,` +
		`"created":` + itoa(ms) + `,"useCount":1,"lastUsed":` + itoa(ms) +
		`,"expires":null,"expired":false},{"uuid":"` + expUUID + `","name":"Deploy",` +
		`"legacy":false,"created":` + itoa(ms) + `,"useCount":0,"lastUsed":null,` +
		`"expires":"2026-02-01","expired":true},{"uuid":"` + legacyUUID +
		`","name":"Legacy Token","legacy":true,"created":null,"useCount":0,` +
		`"lastUsed":null,"expires":null,"expired":false}]}` + "\n"
	if diff := cmp.Diff(want, got.body); diff != "" {
		t.Errorf("list-tokens output (-want +got):\n%s", diff)
	}
	if ct := got.header.Get("Content-Type"); ct != "text/plain;charset=UTF-8" {
		t.Errorf("content type %q", ct)
	}
	notFound := f.do(t, req{method: "POST", path: "/scriptText", user: "bot",
		secret: f.botTok, form: script("list-tokens", "Alice Example")})
	if notFound.body != `{"found":false}`+"\n" {
		t.Errorf("full name must not match in the script: %q", notFound.body)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestOtherScripts(t *testing.T) {
	f := newFixture(t, Options{})
	f.srv.AddUser(User{ID: "alice2", Email: "ALICE@example.com"})
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"preflight", script("preflight", ""), `{"preflight":"ok"}` + "\n"},
		{"find by email", script("find-by-email", "Alice@Example.COM"),
			`{"users":[{"id":"alice","fullName":"Alice Example","email":"alice@example.com"},` +
				`{"id":"alice2","fullName":"alice2","email":"ALICE@example.com"}]}` + "\n"},
		{"find none", script("find-by-email", "x@y"), `{"users":[]}` + "\n"},
		{"missing arg", script("list-tokens", ""), stackTrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.do(t, req{method: "POST", path: "/scriptText", user: "bot",
				secret: f.botTok, form: tt.form})
			if diff := cmp.Diff(tt.want, got.body); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevokeAllFlawAndRestart(t *testing.T) {
	tests := []struct {
		name       string
		action     string
		wantLegacy bool
	}{
		{"revokeAll leaves the legacy secret", "revokeAll", true},
		{"per-uuid revoke clears it", "revoke", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			legacyUUID, legacyTok := f.srv.AddLegacyToken("alice")
			form := url.Values{}
			if tt.action == "revoke" {
				form.Set("tokenUuid", legacyUUID)
			}
			r := f.do(t, req{method: "POST", path: revokePath + tt.action, user: "bot",
				secret: f.botTok, form: form})
			if r.status != 200 || r.body != "" {
				t.Fatalf("%s: %d %q", tt.action, r.status, r.body)
			}
			f.srv.Restart()
			st, _ := f.srv.UserState("alice")
			var legacy []TokenState
			for _, tok := range st.Tokens {
				if tok.Legacy {
					legacy = append(legacy, tok)
				}
			}
			if got := len(legacy) == 1; got != tt.wantLegacy {
				t.Fatalf("legacy entry after restart: %+v, want present=%v", legacy,
					tt.wantLegacy)
			}
			who := f.do(t, req{method: "GET", path: "/whoAmI/api/json", user: "alice",
				secret: legacyTok})
			if (who.status == 200) != tt.wantLegacy {
				t.Errorf("legacy token authenticates = %v, want %v", who.status == 200,
					tt.wantLegacy)
			}
			if tt.wantLegacy && (legacy[0].UUID == legacyUUID || legacy[0].Created != nil) {
				t.Errorf("regenerated entry must have a new uuid and no date: %+v", legacy[0])
			}
		})
	}
}

func TestRevokeAllVersionGate(t *testing.T) {
	f := newFixture(t, Options{Version: "2.250"})
	r := f.do(t, req{method: "POST", path: revokePath + "revokeAll", user: "bot",
		secret: f.botTok, form: url.Values{}})
	if r.status != 404 {
		t.Errorf("revokeAll on 2.250: %d, want 404", r.status)
	}
}

func TestUserJSON(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name, path, user, secret string
		want                     string
	}{
		{"tree", "/user/ALICE/api/json?tree=id,fullName,property[address]", "bot",
			f.botTok, `{"_class":"hudson.model.User","fullName":"Alice Example",` +
				`"id":"alice","property":[{"_class":"jenkins.security.ApiTokenProperty"},` +
				`{"_class":"hudson.tasks.Mailer$UserProperty","address":"alice@example.com"},` +
				`{"_class":"jenkins.security.seed.UserSeedProperty"}]}`},
		{"full-name fallback", "/user/Alice%20Example/api/json?tree=id", "bot", f.botTok,
			`{"_class":"hudson.model.User","id":"alice"}`},
		{"property hidden from others", "/user/alice/api/json?tree=property", "carol",
			f.carolTok, `{"_class":"hudson.model.User","property":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.do(t, req{method: "GET", path: tt.path, user: tt.user,
				secret: tt.secret})
			if diff := cmp.Diff(tt.want, got.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	if r := f.do(t, req{method: "GET", path: "/user/zed/api/json", user: "bot",
		secret: f.botTok}); r.status != 404 {
		t.Errorf("unknown user: %d, want 404", r.status)
	}
	if r := f.do(t, req{method: "GET", path: "/user/alice/api/json?tree=id[", user: "bot",
		secret: f.botTok}); r.status != 500 {
		t.Errorf("malformed tree: %d, want 500", r.status)
	}
}

// TestCrumbsAndSessions covers the crumb issuer, the cookie pitfall and
// ending sessions with renewSessionSeed.
func TestCrumbsAndSessions(t *testing.T) {
	f := newFixture(t, Options{})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	crumbResp := do(t, c, f.srv.URL, req{method: "GET", path: "/crumbIssuer/api/json",
		user: "carol", secret: "carolpw"})
	var crumb struct{ Crumb, CrumbRequestField string }
	if err := json.Unmarshal([]byte(crumbResp.body), &crumb); err != nil ||
		crumb.CrumbRequestField != "Jenkins-Crumb" || len(crumb.Crumb) != 64 {
		t.Fatalf("crumb answer %q: %v", crumbResp.body, err)
	}
	post := req{method: "POST", path: "/user/carol/descriptorByName/" +
		"jenkins.security.ApiTokenProperty/revoke", user: "carol", secret: f.carolTok,
		form: url.Values{"tokenUuid": {"x"}}}
	if r := do(t, c, f.srv.URL, post); r.status != 403 {
		t.Errorf("api token with session cookie and no crumb: %d, want 403", r.status)
	}
	post.header = http.Header{"Jenkins-Crumb": {crumb.Crumb}}
	if r := do(t, c, f.srv.URL, post); r.status != 200 {
		t.Errorf("with crumb and session: %d, want 200", r.status)
	}
	if r := do(t, nil, f.srv.URL, post); r.status != 200 {
		t.Errorf("api token without cookie: %d, want 200 (no crumb needed)", r.status)
	}

	before, _ := f.srv.UserState("carol")
	renew := req{method: "POST", path: "/user/carol/descriptorByName/" +
		"jenkins.security.seed.UserSeedProperty/renewSessionSeed", user: "bot",
		secret: f.botTok, form: url.Values{}}
	if r := f.do(t, renew); r.status != 200 {
		t.Fatalf("renewSessionSeed: %d", r.status)
	}
	after, _ := f.srv.UserState("carol")
	if before.Seed == after.Seed {
		t.Error("seed unchanged")
	}
	who := do(t, c, f.srv.URL, req{method: "GET", path: "/whoAmI/api/json"})
	if !strings.Contains(who.body, `"anonymous":true`) {
		t.Errorf("session survived renewSessionSeed: %s", who.body)
	}
}

func TestSessionsDisabled(t *testing.T) {
	f := newFixture(t, Options{UserSeedDisabled: true, CSRFDisabled: true})
	r := f.do(t, req{method: "POST", path: "/user/alice/descriptorByName/" +
		"jenkins.security.seed.UserSeedProperty/renewSessionSeed", user: "bot",
		secret: f.botTok, form: url.Values{}})
	if r.status != 404 {
		t.Errorf("renewSessionSeed disabled: %d, want 404", r.status)
	}
	if r := f.do(t, req{method: "GET", path: "/crumbIssuer/api/json", user: "bot",
		secret: f.botTok}); r.status != 404 {
		t.Errorf("crumb issuer without CSRF: %d, want 404", r.status)
	}
}

func TestStatsAndExpiry(t *testing.T) {
	now := epoch
	f := newFixture(t, Options{Version: "2.550", Now: func() time.Time { return now }})
	_, expTok := f.srv.AddToken("alice", TokenSpec{Name: "old", Expires: "2026-02-28"})
	if r := f.do(t, req{method: "GET", path: "/user/alice/api/json", user: "alice",
		secret: expTok}); r.status != 401 {
		t.Errorf("expired token: %d, want 401", r.status)
	}
	f.srv.SetStatsEnabled(false)
	f.do(t, req{method: "GET", path: "/user/alice/api/json", user: "alice",
		secret: f.aliceTok})
	out := f.do(t, req{method: "POST", path: "/scriptText", user: "bot", secret: f.botTok,
		form: script("list-tokens", "alice")})
	if !strings.Contains(out.body, `"statsEnabled":false`) ||
		!strings.Contains(out.body, `"useCount":0,"lastUsed":null`) {
		t.Errorf("stats off listing: %s", out.body)
	}
	st, _ := f.srv.UserState("alice")
	if st.Tokens[0].UseCount != 0 {
		t.Errorf("use counted while stats were off: %+v", st.Tokens[0])
	}
}

func TestFaults(t *testing.T) {
	f := newFixture(t, Options{})
	auth := req{method: "GET", path: "/whoAmI/api/json", user: "bot", secret: f.botTok}
	tests := []struct {
		name       string
		fault      Fault
		wantStatus int
		wantBody   string
		wantErr    bool
	}{
		{"500", Fault{Kind: FaultStatus500}, 500, "Oops", false},
		{"login page", Fault{Kind: FaultLoginPage}, 200, "j_username", false},
		{"body", Fault{Kind: FaultBody, Body: "junk"}, 200, "junk", false},
		{"slow", Fault{Kind: FaultSlow, Delay: 50 * time.Millisecond}, 200,
			`"name":"bot"`, false},
		{"reset", Fault{Kind: FaultReset}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.SetFault("/whoAmI", tt.fault)
			t.Cleanup(f.srv.ClearFaults)
			start := time.Now()
			hr, _ := http.NewRequestWithContext(t.Context(), "GET",
				f.srv.URL+auth.path, nil)
			hr.SetBasicAuth(auth.user, auth.secret)
			res, err := (&http.Client{Transport: &http.Transport{}}).Do(hr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("got %d %q", res.StatusCode, b)
			}
			if tt.fault.Kind == FaultSlow && time.Since(start) < tt.fault.Delay {
				t.Errorf("answered after %v, before the delay", time.Since(start))
			}
		})
	}
}

func TestHangEndsWithClientOrServer(t *testing.T) {
	f := newFixture(t, Options{})
	f.srv.SetFault("/", Fault{Kind: FaultHang})
	c := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := c.Get(f.srv.URL + "/whoAmI/api/json")
	var ne net.Error
	if err == nil || !asNetErr(err, &ne) || !ne.Timeout() {
		t.Fatalf("hang: err = %v, want a timeout", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := http.Get(f.srv.URL + "/whoAmI/api/json")
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	f.srv.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a hanging request")
	}
	if f.srv.Calls("GET", "/whoAmI/api/json") != 2 {
		t.Errorf("calls = %d, want 2", f.srv.Calls("GET", "/whoAmI/api/json"))
	}
}

func asNetErr(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}
