package jenkinstest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

var (
	markerRE = regexp.MustCompile(`^// jenkins-tokens-bot:([a-z-]+) v1\r?$`)
	argRE    = regexp.MustCompile(`(?m)^def argB64 = '([A-Za-z0-9+/=]*)'$`)
)

// scriptText serves POST /scriptText: Administer first, then an absent
// script is 200 empty, a non-POST is 405, and the output of a known script
// (or a stack trace) is 200 text/plain.
func (s *Server) scriptText(w http.ResponseWriter, r *http.Request, c *caller) {
	if !c.admin() {
		s.denied(w, c, permAdmin)
		return
	}
	if !r.Form.Has("script") {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		sendError(w, http.StatusMethodNotAllowed, "This URL requires POST")
		return
	}
	w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
	_, _ = w.Write([]byte(s.runScript(r.Form.Get("script"))))
}

// runScript returns what the real script would print.
func (s *Server) runScript(src string) string {
	first, _, _ := strings.Cut(src, "\n")
	m := markerRE.FindStringSubmatch(first)
	if m == nil {
		return stackTrace
	}
	if m[1] == "preflight" {
		return printJSON(preflightOut{Preflight: "ok"})
	}
	arg, ok := scriptArg(src)
	if !ok {
		return stackTrace
	}
	switch m[1] {
	case "list-tokens":
		return s.listTokens(arg)
	case "find-by-email":
		return s.findByEmail(arg)
	}
	return stackTrace
}

func scriptArg(src string) (string, bool) {
	m := argRE.FindStringSubmatch(src)
	if m == nil {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		return "", false
	}
	return string(b), true
}

// printJSON is println(JsonOutput.toJson(v)): one compact line.
func printJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return stackTrace
	}
	return buf.String()
}

type preflightOut struct {
	Preflight string `json:"preflight"`
}

type scriptUser struct {
	ID       string  `json:"id"`
	FullName string  `json:"fullName"`
	Email    *string `json:"email"`
}

type scriptToken struct {
	UUID     string  `json:"uuid"`
	Name     string  `json:"name"`
	Legacy   bool    `json:"legacy"`
	Created  *int64  `json:"created"`
	UseCount int     `json:"useCount"`
	LastUsed *int64  `json:"lastUsed"`
	Expires  *string `json:"expires"`
	Expired  bool    `json:"expired"`
}

type listingOut struct {
	Found           bool          `json:"found"`
	User            scriptUser    `json:"user"`
	StatsEnabled    bool          `json:"statsEnabled"`
	HasLegacySecret bool          `json:"hasLegacySecret"`
	Tokens          []scriptToken `json:"tokens"`
}

type notFoundOut struct {
	Found bool `json:"found"`
}

type usersOut struct {
	Users []scriptUser `json:"users"`
}

// listTokens mirrors the list-tokens script: User.getById(id, false), so no
// full-name fallback; tokens sorted by lower-cased name.
func (s *Server) listTokens(id string) string {
	u := s.users[keyFor(id)]
	if u == nil {
		return printJSON(notFoundOut{})
	}
	out := listingOut{Found: true, User: toScriptUser(u),
		StatsEnabled: !s.opts.StatsDisabled, HasLegacySecret: u.legacySecret != "",
		Tokens: []scriptToken{}}
	toks := slices.Clone(u.tokens)
	slices.SortStableFunc(toks, func(a, b *token) int {
		return strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name))
	})
	for _, t := range toks {
		out.Tokens = append(out.Tokens, s.toScriptToken(u, t))
	}
	return printJSON(out)
}

func (s *Server) toScriptToken(u *user, t *token) scriptToken {
	st := scriptToken{UUID: t.uuid, Name: t.name, Legacy: t.legacy}
	if t.created != nil {
		ms := t.created.UnixMilli()
		st.Created = &ms
	}
	if sv := u.stats[t.uuid]; sv != nil && !s.opts.StatsDisabled {
		st.UseCount = sv.count
		if sv.lastUsed != nil {
			ms := sv.lastUsed.UnixMilli()
			st.LastUsed = &ms
		}
	}
	if t.expires != "" && s.versionAtLeast("2.548") {
		exp := t.expires
		st.Expires, st.Expired = &exp, s.expired(t)
	}
	return st
}

func toScriptUser(u *user) scriptUser {
	su := scriptUser{ID: u.id, FullName: u.fullName}
	if u.email != "" {
		email := u.email
		su.Email = &email
	}
	return su
}

// findByEmail mirrors the find-by-email script.
func (s *Server) findByEmail(email string) string {
	out := usersOut{Users: []scriptUser{}}
	for _, u := range s.sortedUsers() {
		if u.email != "" && strings.EqualFold(u.email, email) {
			out.Users = append(out.Users, toScriptUser(u))
		}
	}
	return printJSON(out)
}

// stackTrace is what Jenkins prints, with status 200, when a script throws.
const stackTrace = `groovy.lang.MissingPropertyException: No such property: ` +
	`undefinedThing for class: Script1
	at org.codehaus.groovy.runtime.ScriptBytecodeAdapter.unwrap(ScriptBytecodeAdapter.java:66)
	at org.codehaus.groovy.runtime.callsite.PogoGetPropertySite.getProperty(` +
	`PogoGetPropertySite.java:51)
	at Script1.run(Script1.groovy:1)
	at groovy.lang.GroovyShell.evaluate(GroovyShell.java:574)
	at hudson.util.RemotingDiagnostics$Script.call(RemotingDiagnostics.java:165)
	at jenkins.model.Jenkins._doScript(Jenkins.java:4872)
`
