package jenkins

import (
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The Groovy scripts run through the Script Console. Each starts with the
// marker line "// jenkins-tokens-bot:<name> v1".
//
//go:embed scripts/*.groovy
var scriptFiles embed.FS

// Names of the embedded scripts, as renderScript and ScriptError use them.
const (
	scriptListTokens  = "list-tokens"
	scriptFindByEmail = "find-by-email"
	scriptPreflight   = "preflight"
)

// argPlaceholder is the one line of a template that renderScript changes.
const argPlaceholder = "def argB64 = '@ARG@'"

// firstLineMax caps ScriptError.FirstLine, in characters.
const firstLineMax = 200

// maxMillis is the last millisecond of the year 9999, the latest date the
// parser accepts from a script.
const maxMillis = 253402300799999

// renderScript returns the script called name with arg passed in as the
// standard base64 of its bytes on the argB64 line; nothing else of the
// template changes, so no argument can alter the Groovy code. Scripts
// without an argB64 line ignore arg. It panics when name is not one of the
// embedded scripts, which is a programming error.
func renderScript(name, arg string) string {
	switch name {
	case scriptListTokens, scriptFindByEmail, scriptPreflight:
	default:
		panic(fmt.Sprintf("jenkins: unknown script %q", name))
	}
	b, err := scriptFiles.ReadFile("scripts/" + name + ".groovy")
	if err != nil {
		panic(fmt.Sprintf("jenkins: read embedded script %s: %v", name, err))
	}
	line := "def argB64 = '" + base64.StdEncoding.EncodeToString([]byte(arg)) + "'"
	return strings.Replace(string(b), argPlaceholder, line, 1)
}

// ScriptError reports that a script run through the Script Console printed
// something other than the single JSON line it prints on success: a Groovy
// stack trace, an empty body, an HTML page, a "Result:" line, or JSON of
// the wrong shape. Jenkins answers all of these with HTTP 200.
type ScriptError struct {
	// Script is the script's name, such as "list-tokens".
	Script string
	// FirstLine is the first non-blank line of the output, with control
	// characters replaced and cut to 200 characters; empty when the
	// output was blank.
	FirstLine string
}

// Error says which script printed what, for example
// "script list-tokens printed unexpected output: groovy.lang.Missing...".
func (e *ScriptError) Error() string {
	first := e.FirstLine
	if first == "" {
		first = "(nothing)"
	}
	return fmt.Sprintf("script %s printed unexpected output: %s", e.Script, first)
}

// newScriptError builds the error for script name from its whole output.
func newScriptError(name, out string) *ScriptError {
	var first string
	for line := range strings.Lines(out) {
		if line = strings.TrimSpace(line); line != "" {
			first = line
			break
		}
	}
	first = strings.Map(printableOrReplacement, strings.ToValidUTF8(first, "\uFFFD"))
	if utf8.RuneCountInString(first) > firstLineMax {
		first = string([]rune(first)[:firstLineMax])
	}
	return &ScriptError{Script: name, FirstLine: first}
}

func printableOrReplacement(r rune) rune {
	if unicode.IsPrint(r) {
		return r
	}
	return unicode.ReplacementChar
}

// decodeLine decodes output that must be exactly one JSON object on one
// line (a trailing line break allowed) into v, rejecting unknown fields.
func decodeLine(out string, v any) error {
	line := strings.TrimRight(out, "\r\n")
	if strings.ContainsAny(line, "\r\n") {
		return errors.New("more than one line")
	}
	if !strings.HasPrefix(line, "{") {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("text after the JSON object")
	}
	return nil
}

// wireListing is what list-tokens prints. Pointers tell a missing or null
// field from a false or zero one.
type wireListing struct {
	Found           *bool        `json:"found"`
	User            *wireUser    `json:"user"`
	StatsEnabled    *bool        `json:"statsEnabled"`
	HasLegacySecret *bool        `json:"hasLegacySecret"`
	Tokens          *[]wireToken `json:"tokens"`
}

type wireUser struct {
	ID       *string `json:"id"`
	FullName *string `json:"fullName"`
	Email    *string `json:"email"`
}

type wireToken struct {
	UUID     *string `json:"uuid"`
	Name     *string `json:"name"`
	Legacy   *bool   `json:"legacy"`
	Created  *int64  `json:"created"`
	UseCount *int    `json:"useCount"`
	LastUsed *int64  `json:"lastUsed"`
	Expires  *string `json:"expires"`
	Expired  *bool   `json:"expired"`
}

// parseListing reads the output of the list-tokens script. It returns
// found false and a zero Listing for {"found":false}, and a *ScriptError
// for anything that is not a well-formed, consistent listing.
func parseListing(out string) (Listing, bool, error) {
	var w wireListing
	if err := decodeLine(out, &w); err != nil || w.Found == nil {
		return Listing{}, false, newScriptError(scriptListTokens, out)
	}
	if !*w.Found {
		if w.User != nil || w.StatsEnabled != nil || w.HasLegacySecret != nil ||
			w.Tokens != nil {
			return Listing{}, false, newScriptError(scriptListTokens, out)
		}
		return Listing{}, false, nil
	}
	l, err := w.listing()
	if err != nil {
		return Listing{}, false, newScriptError(scriptListTokens, out)
	}
	return l, true, nil
}

// listing converts and validates a found listing.
func (w wireListing) listing() (Listing, error) {
	if w.User == nil || w.StatsEnabled == nil || w.HasLegacySecret == nil ||
		w.Tokens == nil {
		return Listing{}, errors.New("missing field")
	}
	u, err := w.User.user()
	if err != nil {
		return Listing{}, err
	}
	l := Listing{
		User:            u,
		StatsEnabled:    *w.StatsEnabled,
		HasLegacySecret: *w.HasLegacySecret,
		Tokens:          make([]Token, 0, len(*w.Tokens)),
	}
	seen := make(map[string]bool)
	for _, wt := range *w.Tokens {
		t, err := wt.token(l.StatsEnabled)
		if err != nil {
			return Listing{}, err
		}
		if seen[t.UUID] {
			return Listing{}, fmt.Errorf("token %s listed twice", t.UUID)
		}
		seen[t.UUID] = true
		l.Tokens = append(l.Tokens, t)
	}
	return l, nil
}

// user converts and validates a user object; email may be null.
func (w *wireUser) user() (User, error) {
	if w == nil || w.ID == nil || *w.ID == "" || w.FullName == nil {
		return User{}, errors.New("user without id or full name")
	}
	u := User{ID: *w.ID, FullName: *w.FullName}
	if w.Email != nil {
		u.Email = *w.Email
	}
	return u, nil
}

// token converts and validates one token; statsOn is the listing's
// statsEnabled, which forbids usage data when false.
func (w wireToken) token(statsOn bool) (Token, error) {
	if w.UUID == nil || *w.UUID == "" || w.Name == nil || w.Legacy == nil ||
		w.UseCount == nil || w.Expired == nil {
		return Token{}, errors.New("token with a missing field")
	}
	t := Token{
		UUID:     *w.UUID,
		Name:     *w.Name,
		Legacy:   *w.Legacy,
		UseCount: *w.UseCount,
		Expired:  *w.Expired,
	}
	var err error
	if t.Created, err = fromMillis(w.Created); err != nil {
		return Token{}, err
	}
	if t.LastUsed, err = fromMillis(w.LastUsed); err != nil {
		return Token{}, err
	}
	if t.UseCount < 0 || !statsOn && (t.UseCount != 0 || t.LastUsed != nil) {
		return Token{}, errors.New("usage data inconsistent with statsEnabled")
	}
	if w.Expires != nil {
		if _, err := time.Parse(time.DateOnly, *w.Expires); err != nil {
			return Token{}, err
		}
		t.Expires = *w.Expires
	}
	if t.Expired && t.Expires == "" {
		return Token{}, errors.New("expired token without an expiry date")
	}
	return t, nil
}

// fromMillis converts epoch milliseconds, nil staying nil.
func fromMillis(ms *int64) (*time.Time, error) {
	if ms == nil {
		return nil, nil
	}
	if *ms < 0 || *ms > maxMillis {
		return nil, fmt.Errorf("timestamp %d out of range", *ms)
	}
	t := time.UnixMilli(*ms).UTC()
	return &t, nil
}

// parseUsers reads the output of the find-by-email script: the matching
// users, an empty non-nil slice when none matched, or a *ScriptError.
func parseUsers(out string) ([]User, error) {
	var w struct {
		Users *[]wireUser `json:"users"`
	}
	if err := decodeLine(out, &w); err != nil || w.Users == nil {
		return nil, newScriptError(scriptFindByEmail, out)
	}
	users := make([]User, 0, len(*w.Users))
	seen := make(map[string]bool)
	for _, wu := range *w.Users {
		u, err := wu.user()
		if err != nil || u.Email == "" || seen[u.ID] {
			return nil, newScriptError(scriptFindByEmail, out)
		}
		seen[u.ID] = true
		users = append(users, u)
	}
	return users, nil
}

// parsePreflight reads the output of the preflight script: nil for
// {"preflight":"ok"}, a *ScriptError for anything else.
func parsePreflight(out string) error {
	var w struct {
		Preflight *string `json:"preflight"`
	}
	if err := decodeLine(out, &w); err != nil || w.Preflight == nil ||
		*w.Preflight != "ok" {
		return newScriptError(scriptPreflight, out)
	}
	return nil
}
