package jenkins

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// argLineRE is how the fake Jenkins reads a rendered script's argument.
var argLineRE = regexp.MustCompile(`(?m)^def argB64 = '([A-Za-z0-9+/=]*)'$`)

func msTime(ms int64) *time.Time {
	t := time.UnixMilli(ms).UTC()
	return &t
}

// goodListing is the contract's example output, and wantGoodListing is it
// parsed.
const goodListing = `{"found":true,"user":{"id":"alice","fullName":"Alice Example",` +
	`"email":"alice@example.com"},"statsEnabled":true,"hasLegacySecret":false,` +
	`"tokens":[{"uuid":"0b6b1a1e-2f1c-4c59-9b2a-0d7d8f5e9a10","name":"ci","legacy":false,` +
	`"created":1724198400000,"useCount":3,"lastUsed":1724284800000,"expires":null,` +
	`"expired":false}]}` + "\n"

var wantGoodListing = Listing{
	User:         User{ID: "alice", FullName: "Alice Example", Email: "alice@example.com"},
	StatsEnabled: true,
	Tokens: []Token{{
		UUID: "0b6b1a1e-2f1c-4c59-9b2a-0d7d8f5e9a10", Name: "ci",
		Created: msTime(1724198400000), UseCount: 3, LastUsed: msTime(1724284800000),
	}},
}

const stackTrace = "groovy.lang.MissingMethodException: No signature of method: " +
	"static hudson.model.User.getByld() is applicable\n" +
	"\tat org.codehaus.groovy.runtime.ScriptBytecodeAdapter.unwrap(ScriptBytecodeAdapter.java:58)\n"

const htmlPage = "\n<!DOCTYPE html><html><head><title>Jenkins</title></head></html>\n"

// listingWith is a found listing, statistics off, with the given tokens.
func listingWith(tokens string) string {
	return `{"found":true,"user":{"id":"bob","fullName":"Bob","email":null},` +
		`"statsEnabled":false,"hasLegacySecret":true,"tokens":[` + tokens + `]}`
}

// listingCase is one parseListing input. An error is expected when
// wantFirst is set or the output is blank.
type listingCase struct {
	name      string
	out       string
	want      Listing
	wantFound bool
	wantFirst string // FirstLine of the *ScriptError
}

func TestParseListing(t *testing.T) {
	t.Parallel()
	tests := []listingCase{
		{name: "contract example", out: goodListing, want: wantGoodListing, wantFound: true},
		{name: "windows line end", out: strings.TrimSuffix(goodListing, "\n") + "\r\n",
			want: wantGoodListing, wantFound: true},
		{name: "no line end", out: strings.TrimSuffix(goodListing, "\n"),
			want: wantGoodListing, wantFound: true},
		{name: "not found", out: `{"found":false}` + "\n"},
		{
			name: "legacy migrated, stats off, expiring",
			out: listingWith(`{"uuid":"L","name":"Legacy Token","legacy":true,"created":null,` +
				`"useCount":0,"lastUsed":null,"expires":"2031-02-03","expired":false},` +
				`{"uuid":"X","name":"old","legacy":false,"created":0,` +
				`"useCount":0,"lastUsed":null,"expires":"2020-01-01","expired":true}`),
			want: Listing{
				User:            User{ID: "bob", FullName: "Bob"},
				HasLegacySecret: true,
				Tokens: []Token{
					{UUID: "L", Name: "Legacy Token", Legacy: true, Expires: "2031-02-03"},
					{UUID: "X", Name: "old", Created: msTime(0), Expires: "2020-01-01",
						Expired: true},
				},
			},
			wantFound: true,
		},
		{name: "no tokens", out: listingWith(``),
			want: Listing{User: User{ID: "bob", FullName: "Bob"}, HasLegacySecret: true,
				Tokens: []Token{}}, wantFound: true},
		{name: "stack trace", out: stackTrace, wantFirst: cut200(strings.Split(stackTrace, "\n")[0])},
		{name: "empty", out: "", wantFirst: ""},
		{name: "blank", out: " \n\n", wantFirst: ""},
		{name: "html", out: htmlPage, wantFirst: "<!DOCTYPE html><html><head><title>Jenkins" +
			"</title></head></html>"},
		{name: "result line appended", out: goodListing + "Result: [a:1]\n",
			wantFirst: cut200(strings.TrimSpace(goodListing))},
		{name: "truncated", out: goodListing[:120], wantFirst: goodListing[:120]},
		{name: "text before", out: "Started\n" + goodListing, wantFirst: "Started"},
		{name: "text before on the line", out: "x" + goodListing,
			wantFirst: cut200("x" + goodListing)},
		{name: "text after on the line", out: `{"found":false} {}`, wantFirst: `{"found":false} {}`},
		{name: "null", out: "null", wantFirst: "null"},
		{name: "array", out: "[]", wantFirst: "[]"},
		{name: "found missing", out: `{}`, wantFirst: `{}`},
		{name: "found wrong type", out: `{"found":"true"}`, wantFirst: `{"found":"true"}`},
		{name: "unknown field", out: `{"found":false,"id":"a"}`,
			wantFirst: `{"found":false,"id":"a"}`},
		{name: "not found with a user", out: `{"found":false,"user":{"id":"a"}}`,
			wantFirst: `{"found":false,"user":{"id":"a"}}`},
		{name: "found without user", out: `{"found":true,"statsEnabled":true,` +
			`"hasLegacySecret":false,"tokens":[]}`, wantFirst: `{"found":true,` +
			`"statsEnabled":true,"hasLegacySecret":false,"tokens":[]}`},
	}
	bad := []struct{ name, tokens string }{
		{"empty uuid", `{"uuid":"","name":"a","legacy":false,"created":1,"useCount":0,` +
			`"lastUsed":null,"expires":null,"expired":false}`},
		{"null name", `{"uuid":"u","name":null,"legacy":false,"created":1,"useCount":0,` +
			`"lastUsed":null,"expires":null,"expired":false}`},
		{"missing legacy", `{"uuid":"u","name":"a","created":1,"useCount":0,` +
			`"lastUsed":null,"expires":null,"expired":false}`},
		{"string created", `{"uuid":"u","name":"a","legacy":false,"created":"1","useCount":0,` +
			`"lastUsed":null,"expires":null,"expired":false}`},
		{"float useCount", `{"uuid":"u","name":"a","legacy":false,"created":1,"useCount":1.5,` +
			`"lastUsed":null,"expires":null,"expired":false}`},
		{"usage while stats off", `{"uuid":"u","name":"a","legacy":false,"created":1,` +
			`"useCount":2,"lastUsed":null,"expires":null,"expired":false}`},
		{"negative created", `{"uuid":"u","name":"a","legacy":false,"created":-1,` +
			`"useCount":0,"lastUsed":null,"expires":null,"expired":false}`},
		{"year 10000", `{"uuid":"u","name":"a","legacy":false,"created":253402300800000,` +
			`"useCount":0,"lastUsed":null,"expires":null,"expired":false}`},
		{"bad expiry", `{"uuid":"u","name":"a","legacy":false,"created":1,"useCount":0,` +
			`"lastUsed":null,"expires":"03/02/2031","expired":false}`},
		{"expired without date", `{"uuid":"u","name":"a","legacy":false,"created":1,` +
			`"useCount":0,"lastUsed":null,"expires":null,"expired":true}`},
		{"duplicate uuid", `{"uuid":"u","name":"a","legacy":false,"created":1,"useCount":0,` +
			`"lastUsed":null,"expires":null,"expired":false},{"uuid":"u","name":"b",` +
			`"legacy":false,"created":1,"useCount":0,"lastUsed":null,"expires":null,` +
			`"expired":false}`},
	}
	for _, b := range bad {
		out := listingWith(b.tokens)
		first := cut200(out)
		tests = append(tests, listingCase{name: "token " + b.name, out: out, wantFirst: first})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, found, err := parseListing(tt.out)
			wantErr := tt.wantFirst != "" || strings.TrimSpace(tt.out) == ""
			if !wantErr {
				if err != nil {
					t.Fatalf("parseListing: %v", err)
				}
				if found != tt.wantFound {
					t.Errorf("found = %v, want %v", found, tt.wantFound)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("listing mismatch (-want +got):\n%s", diff)
				}
				return
			}
			checkScriptError(t, err, scriptListTokens, tt.wantFirst)
			if found || !cmp.Equal(got, Listing{}) {
				t.Errorf("got found=%v %+v with an error, want zero values", found, got)
			}
		})
	}
}

// checkScriptError asserts err is a *ScriptError for script with FirstLine
// first, and that its message carries that line.
func checkScriptError(t *testing.T, err error, script, first string) {
	t.Helper()
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want *ScriptError", err, err)
	}
	want := &ScriptError{Script: script, FirstLine: first}
	if diff := cmp.Diff(want, se); diff != "" {
		t.Errorf("ScriptError mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(se.Error(), "script "+script+" printed unexpected output: ") ||
		!strings.Contains(se.Error(), first) {
		t.Errorf("Error() = %q, want script name and first line %q", se.Error(), first)
	}
}

func TestScriptErrorFirstLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, out, want string
	}{
		{"long line cut by characters", strings.Repeat("é", 300), strings.Repeat("é", 200)},
		{"control characters replaced", "bad\x1b[31m\tline", "bad\uFFFD[31m\uFFFDline"},
		{"invalid utf-8 replaced", "a\xffb", "a\uFFFDb"},
		{"first non-blank line", "\r\n  \n  second\nthird", "second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseListing(tt.out)
			checkScriptError(t, err, scriptListTokens, tt.want)
		})
	}
	if got := (&ScriptError{Script: "preflight"}).Error(); !strings.HasSuffix(got, "(nothing)") {
		t.Errorf("Error() for empty output = %q, want it to say (nothing)", got)
	}
}

func TestParseUsers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		out       string
		want      []User
		wantFirst string // "" with wantErr false means success
		wantErr   bool
	}{
		{name: "two", out: `{"users":[{"id":"alice","fullName":"Alice Example",` +
			`"email":"Alice@Example.com"},{"id":"al","fullName":"Al","email":"alice@example.com"}]}` +
			"\n", want: []User{
			{ID: "alice", FullName: "Alice Example", Email: "Alice@Example.com"},
			{ID: "al", FullName: "Al", Email: "alice@example.com"},
		}},
		{name: "none", out: `{"users":[]}` + "\n", want: []User{}},
		{name: "users null", out: `{"users":null}`, wantFirst: `{"users":null}`, wantErr: true},
		{name: "listing output", out: `{"found":false}`, wantFirst: `{"found":false}`,
			wantErr: true},
		{name: "empty id", out: `{"users":[{"id":"","fullName":"x","email":"a@b"}]}`,
			wantFirst: `{"users":[{"id":"","fullName":"x","email":"a@b"}]}`, wantErr: true},
		{name: "null email", out: `{"users":[{"id":"a","fullName":"x","email":null}]}`,
			wantFirst: `{"users":[{"id":"a","fullName":"x","email":null}]}`, wantErr: true},
		{name: "duplicate", out: `{"users":[{"id":"a","fullName":"x","email":"e"},` +
			`{"id":"a","fullName":"x","email":"e"}]}`, wantFirst: `{"users":[{"id":"a",` +
			`"fullName":"x","email":"e"},{"id":"a","fullName":"x","email":"e"}]}`, wantErr: true},
		{name: "stack trace", out: stackTrace, wantFirst: cut200(strings.Split(stackTrace, "\n")[0]),
			wantErr: true},
		{name: "empty", out: "", wantErr: true},
		{name: "html", out: htmlPage, wantFirst: strings.TrimSpace(htmlPage), wantErr: true},
		{name: "result line", out: `{"users":[]}` + "\nResult: x\n", wantFirst: `{"users":[]}`,
			wantErr: true},
		{name: "truncated", out: `{"users":[{"id":"a"`, wantFirst: `{"users":[{"id":"a"`,
			wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseUsers(tt.out)
			if tt.wantErr {
				checkScriptError(t, err, scriptFindByEmail, tt.wantFirst)
				if got != nil {
					t.Errorf("users = %v with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseUsers: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("users mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePreflight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, out, wantFirst string
		wantErr              bool
	}{
		{name: "ok", out: `{"preflight":"ok"}` + "\n"},
		{name: "not ok", out: `{"preflight":"no"}`, wantFirst: `{"preflight":"no"}`, wantErr: true},
		{name: "empty", out: "", wantErr: true},
		{name: "html", out: htmlPage, wantFirst: strings.TrimSpace(htmlPage), wantErr: true},
		{name: "result line", out: `{"preflight":"ok"}` + "\nResult: 1\n",
			wantFirst: `{"preflight":"ok"}`, wantErr: true},
		{name: "stack trace", out: stackTrace, wantFirst: cut200(strings.Split(stackTrace, "\n")[0]),
			wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parsePreflight(tt.out)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("parsePreflight: %v", err)
				}
				return
			}
			checkScriptError(t, err, scriptPreflight, tt.wantFirst)
		})
	}
}

func TestRenderScript(t *testing.T) {
	t.Parallel()
	args := []string{"", "alice"}
	for _, id := range hostileIDs {
		args = append(args, id)
	}
	for _, name := range []string{scriptListTokens, scriptFindByEmail} {
		tmpl := mustReadScript(t, name)
		for _, arg := range args {
			got := renderScript(name, arg)
			m := argLineRE.FindAllStringSubmatch(got, -1)
			if len(m) != 1 {
				t.Fatalf("%s(%.20q): %d argB64 lines, want 1", name, arg, len(m))
			}
			if b, err := base64.StdEncoding.DecodeString(m[0][1]); err != nil ||
				string(b) != arg {
				t.Errorf("%s(%.20q): argument decodes to %.20q (%v)", name, arg, b, err)
			}
			back := strings.Replace(got, m[0][0], argPlaceholder, 1)
			if back != tmpl {
				t.Errorf("%s(%.20q): rendered script differs from the template beyond "+
					"the argB64 line", name, arg)
			}
		}
	}
	if got := renderScript(scriptPreflight, "ignored"); got != mustReadScript(t, scriptPreflight) {
		t.Errorf("preflight rendered differently from its template")
	}
}

func TestScriptTemplates(t *testing.T) {
	t.Parallel()
	for _, name := range []string{scriptListTokens, scriptFindByEmail, scriptPreflight} {
		tmpl := mustReadScript(t, name)
		marker := "// jenkins-tokens-bot:" + name + " v1\n"
		if !strings.HasPrefix(tmpl, marker) {
			t.Errorf("%s does not start with %q", name, marker)
		}
		n := strings.Count(tmpl, "@ARG@")
		lines := strings.Count(tmpl, "\n"+argPlaceholder+"\n")
		wantArg := name != scriptPreflight
		if wantArg && (n != 1 || lines != 1) || !wantArg && n != 0 {
			t.Errorf("%s: %d @ARG@ and %d placeholder lines", name, n, lines)
		}
		if strings.Contains(tmpl, "User.get(") {
			t.Errorf("%s calls User.get, which creates users and matches full names", name)
		}
		if !utf8.ValidString(tmpl) || strings.ContainsRune(tmpl, '\r') {
			t.Errorf("%s: not plain UTF-8 with LF line ends", name)
		}
	}
}

func TestRenderScriptUnknownPanics(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "nope", "../doc", "list-tokens.groovy"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("renderScript(%q) did not panic", name)
				}
			}()
			renderScript(name, "x")
		}()
	}
}

// cut200 cuts s to the 200 characters a ScriptError keeps.
func cut200(s string) string {
	if r := []rune(s); len(r) > 200 {
		return string(r[:200])
	}
	return s
}

func mustReadScript(t *testing.T, name string) string {
	t.Helper()
	b, err := scriptFiles.ReadFile("scripts/" + name + ".groovy")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParseListing checks that parseListing never panics, and that whatever
// it accepts is a listing the bot can act on.
func FuzzParseListing(f *testing.F) {
	for _, s := range []string{goodListing, `{"found":false}`, stackTrace, htmlPage, "",
		goodListing + "Result: x", goodListing[:50], listingWith(`{"uuid":"L","name":"n",` +
			`"legacy":true,"created":null,"useCount":0,"lastUsed":null,"expires":"2031-02-03",` +
			`"expired":false}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		l, found, err := parseListing(out)
		if err != nil {
			var se *ScriptError
			if !errors.As(err, &se) || se.Script != scriptListTokens ||
				utf8.RuneCountInString(se.FirstLine) > firstLineMax {
				t.Fatalf("error %v is not a sane *ScriptError", err)
			}
			return
		}
		if !found {
			if !cmp.Equal(l, Listing{}) {
				t.Fatalf("not found but listing %+v", l)
			}
			return
		}
		checkSaneListing(t, l)
	})
}

func checkSaneListing(t *testing.T, l Listing) {
	t.Helper()
	if l.User.ID == "" || l.Tokens == nil {
		t.Fatalf("accepted listing without user id or tokens: %+v", l)
	}
	seen := map[string]bool{}
	for _, tok := range l.Tokens {
		if tok.UUID == "" || seen[tok.UUID] || tok.UseCount < 0 {
			t.Fatalf("accepted bad token %+v", tok)
		}
		seen[tok.UUID] = true
		if tok.Expires != "" {
			if _, err := time.Parse(time.DateOnly, tok.Expires); err != nil {
				t.Fatalf("accepted expiry %q", tok.Expires)
			}
		}
		if tok.Expired && tok.Expires == "" {
			t.Fatalf("expired token without date %+v", tok)
		}
		if !l.StatsEnabled && (tok.UseCount != 0 || tok.LastUsed != nil) {
			t.Fatalf("usage data with stats off %+v", tok)
		}
	}
}
