package jenkins

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

const tokenPath = "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/"

func TestListTokens(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{Version: "2.550"}, nil)
	ciUUID := e.addAlice()
	deployUUID, deployTok := e.srv.AddToken("alice", jenkinstest.TokenSpec{Name: "Deploy",
		Expires: "2027-01-01"})
	legacyUUID, _ := e.srv.AddLegacyToken("alice")
	// One use of the deploy token, so statistics show.
	if _, err := newAliceClient(t, e, deployTok).LookupUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}

	got, err := e.client.ListTokens(t.Context(), "Alice")
	if err != nil {
		t.Fatal(err)
	}
	ts := testEpoch
	want := Listing{
		User:         User{ID: "alice", FullName: "Alice Example", Email: "alice@example.com"},
		StatsEnabled: true, HasLegacySecret: true,
		Tokens: []Token{
			{UUID: ciUUID, Name: "ci", Created: &ts},
			{UUID: deployUUID, Name: "Deploy", Created: &ts, UseCount: 1, LastUsed: &ts,
				Expires: "2027-01-01"},
			{UUID: legacyUUID, Name: "Legacy Token", Legacy: true},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
	if _, err := e.client.ListTokens(t.Context(), "Alice Example"); !errors.Is(err,
		ErrUserNotFound) {
		t.Errorf("full name: err = %v, want ErrUserNotFound", err)
	}
}

func newAliceClient(t *testing.T, e *env, tok string) *Client {
	t.Helper()
	c, err := NewClient(Config{Name: "ci", URL: e.srv.URL, User: "alice",
		Token: NewSecret(tok)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookupUser(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	e.addAlice()
	e.srv.AddUser(jenkinstest.User{ID: "bob", FullName: "robert"})
	odd := "we;ird /ü.d?#%"
	e.srv.AddUser(jenkinstest.User{ID: odd})
	tests := []struct {
		id      string
		want    User
		wantErr error
	}{
		{id: "alice", want: User{ID: "alice", FullName: "Alice Example",
			Email: "alice@example.com"}},
		{id: "ALICE", want: User{ID: "alice", FullName: "Alice Example",
			Email: "alice@example.com"}},
		{id: "bob", want: User{ID: "bob", FullName: "robert"}},
		{id: odd, want: User{ID: odd, FullName: odd}},
		{id: "robert", wantErr: ErrIDMismatch},
		{id: "zed", wantErr: ErrUserNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := e.client.LookupUser(t.Context(), tt.id)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(err, ErrUserNotFound) {
				t.Errorf("%v must also be ErrUserNotFound", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindUsersByEmail(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	e.addAlice()
	e.srv.AddUser(jenkinstest.User{ID: "a2", Email: "ALICE@example.com"})
	got, err := e.client.FindUsersByEmail(t.Context(), "Alice@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []User{{ID: "a2", FullName: "a2", Email: "ALICE@example.com"},
		{ID: "alice", FullName: "Alice Example", Email: "alice@example.com"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	none, err := e.client.FindUsersByEmail(t.Context(), "nobody@example.com")
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("no match: %v, %v; want empty slice", none, err)
	}
	if _, err := e.client.FindUsersByEmail(t.Context(), "x\ny@z"); !errors.Is(err,
		ErrInvalidEmail) {
		t.Errorf("err = %v, want ErrInvalidEmail", err)
	}
}

// TestHostileIDsSendNothing proves invalid ids are refused before any request.
func TestHostileIDsSendNothing(t *testing.T) {
	ids := map[string]string{
		"empty": "", "nul": "ali\x00ce", "newline": "alice\nbob", "escape": "a\x1bb",
		"too long": strings.Repeat("a", 257), "dot": ".", "dotdot": "..",
		"bad utf8": "a\xffb",
	}
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, jenkinstest.Options{}, nil)
			calls := []func() error{
				func() error { _, err := e.client.LookupUser(t.Context(), id); return err },
				func() error { _, err := e.client.ListTokens(t.Context(), id); return err },
				func() error {
					_, err := e.client.RevokeTokens(t.Context(), id, []string{"u"})
					return err
				},
				func() error { return e.client.EndSessions(t.Context(), id) },
			}
			for i, call := range calls {
				err := call()
				if !errors.Is(err, ErrInvalidID) {
					t.Errorf("call %d: err = %v, want ErrInvalidID", i, err)
				}
			}
			if n := e.srv.TotalCalls(); n != 0 {
				t.Errorf("fake saw %d requests, want 0", n)
			}
		})
	}
	if err := ValidateID(strings.Repeat("é", 256)); err != nil {
		t.Errorf("256 characters must pass: %v", err)
	}
}

func TestRevokeTokens(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	ciUUID := e.addAlice()
	keepUUID, _ := e.srv.AddToken("alice", jenkinstest.TokenSpec{Name: "keep"})
	legacyUUID, _ := e.srv.AddLegacyToken("alice")

	uuids := []string{legacyUUID, "gone-before", ciUUID}
	got, err := e.client.RevokeTokens(t.Context(), "alice", uuids)
	if err != nil {
		t.Fatal(err)
	}
	want := []TokenResult{
		{UUID: legacyUUID, Name: "Legacy Token", Outcome: Revoked},
		{UUID: "gone-before", Outcome: AlreadyGone},
		{UUID: ciUUID, Name: "ci", Outcome: Revoked},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for _, u := range []string{legacyUUID, ciUUID} {
		if n := e.srv.RevokeCalls(u); n != 1 {
			t.Errorf("revoke calls for %s = %d, want 1", u, n)
		}
	}
	if e.srv.RevokeCalls("gone-before") != 0 || e.srv.RevokeCalls(keepUUID) != 0 {
		t.Error("revoked a token that was not listed or not asked for")
	}
	if n := e.srv.Calls("POST", tokenPath+"revokeAll"); n != 0 {
		t.Errorf("revokeAll called %d times", n)
	}
	e.srv.Restart()
	st, _ := e.srv.UserState("alice")
	if st.HasLegacySecret || len(st.Tokens) != 1 || st.Tokens[0].UUID != keepUUID {
		t.Errorf("after restart: %+v", st)
	}
}

func TestRevokeTokensFailures(t *testing.T) {
	tests := []struct {
		name   string
		fault  jenkinstest.Fault
		want   Outcome
		detail string
	}{
		{"revoke ignored", jenkinstest.Fault{Kind: jenkinstest.FaultBody}, StillPresent,
			"still listed"},
		{"revoke 500", jenkinstest.Fault{Kind: jenkinstest.FaultStatus500}, Failed,
			"status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, jenkinstest.Options{}, nil)
			ciUUID := e.addAlice()
			e.srv.SetFault(tokenPath, tt.fault)
			got, err := e.client.RevokeTokens(t.Context(), "alice", []string{ciUUID})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Outcome != tt.want ||
				!strings.Contains(got[0].Detail, tt.detail) {
				t.Errorf("results = %+v, want %s with %q", got, tt.want, tt.detail)
			}
			assertNoSecret(t, errors.New(got[0].Detail), e.botTok)
		})
	}
}

func TestRevokeTokensChecksUserFirst(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	_, err := e.client.RevokeTokens(t.Context(), "zed", []string{"u"})
	if !errors.Is(err, ErrUserNotFound) {
		t.Errorf("err = %v", err)
	}
	e.addAlice()
	e.srv.SetFault("/user/", jenkinstest.Fault{Kind: jenkinstest.FaultStatus500})
	_, err = e.client.RevokeTokens(t.Context(), "alice", []string{"u"})
	if err == nil {
		t.Error("a failed REST user check must stop the revocation")
	}
	if n := e.srv.RevokeCalls("u") + e.srv.Calls("POST", tokenPath+"revoke"); n != 0 {
		t.Errorf("%d revoke calls before the user check passed", n)
	}
}

// TestVerify covers outcomes the fake cannot produce over HTTP.
func TestVerify(t *testing.T) {
	legacy := Token{UUID: "L", Name: "Legacy Token", Legacy: true}
	plain := Token{UUID: "P", Name: "p"}
	before := Listing{HasLegacySecret: true, Tokens: []Token{legacy, plain}}
	tests := []struct {
		name     string
		after    Listing
		afterErr error
		callErrs map[string]error
		want     []Outcome
	}{
		{"legacy secret left", Listing{HasLegacySecret: true}, nil, nil,
			[]Outcome{StillPresent, Revoked}},
		{"all gone", Listing{}, nil, nil, []Outcome{Revoked, Revoked}},
		{"call failed but gone", Listing{}, nil, map[string]error{"P": errors.New("x")},
			[]Outcome{Revoked, Revoked}},
		{"second listing failed", Listing{}, errors.New("boom"), nil,
			[]Outcome{Failed, Failed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := verify(before, tt.after, tt.afterErr, []string{"L", "P"}, tt.callErrs)
			var got []Outcome
			for _, r := range res {
				got = append(got, r.Outcome)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevokeConcurrencyLimit(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	e.addAlice()
	var uuids []string
	for range 40 {
		u, _ := e.srv.AddToken("alice", jenkinstest.TokenSpec{Name: "t"})
		uuids = append(uuids, u)
	}
	e.srv.SetFault(tokenPath, jenkinstest.Fault{Kind: jenkinstest.FaultSlow,
		Delay: 20 * time.Millisecond})
	start := time.Now()
	res, err := e.client.RevokeTokens(t.Context(), "alice", uuids)
	if err != nil {
		t.Fatal(err)
	}
	// 40 calls of 20 ms, 8 at a time, is at least 5 rounds.
	if el := time.Since(start); el < 100*time.Millisecond || el > 700*time.Millisecond {
		t.Errorf("40 revokes took %v; want about 5 rounds of 20 ms", el)
	}
	for _, r := range res {
		if r.Outcome != Revoked {
			t.Errorf("%+v", r)
		}
	}
}

func TestEndSessions(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	e.addAlice()
	before, _ := e.srv.UserState("alice")
	if err := e.client.EndSessions(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	after, _ := e.srv.UserState("alice")
	if before.Seed == after.Seed {
		t.Error("seed not renewed")
	}
	e.srv.AddUser(jenkinstest.User{ID: "bob", FullName: "robert"})
	if err := e.client.EndSessions(t.Context(), "robert"); !errors.Is(err, ErrIDMismatch) {
		t.Errorf("full name: err = %v, want ErrIDMismatch", err)
	}
	if n := e.srv.Calls("POST", "/user/robert/descriptorByName/"+
		"jenkins.security.seed.UserSeedProperty/renewSessionSeed"); n != 0 {
		t.Errorf("renewed the seed of a full-name match (%d calls)", n)
	}

	off := newEnv(t, jenkinstest.Options{UserSeedDisabled: true}, nil)
	off.addAlice()
	if err := off.client.EndSessions(t.Context(), "alice"); !errors.Is(err,
		ErrSessionsDisabled) {
		t.Errorf("err = %v, want ErrSessionsDisabled", err)
	}
}
