package jenkins

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// newFleet builds a fleet over n fakes named c0..cn-1, each with alice.
func newFleet(t testing.TB, n int, per time.Duration) (*Fleet, []*env) {
	t.Helper()
	var envs []*env
	var clients []*Client
	for i := range n {
		name := "c" + string(rune('0'+i%10)) + strings.Repeat("x", i/10)
		e := newEnv(t, jenkinstest.Options{}, func(c *Config) { c.Name = name })
		e.addAlice()
		envs = append(envs, e)
		clients = append(clients, e.client)
	}
	f, err := NewFleet(clients, per)
	if err != nil {
		t.Fatal(err)
	}
	return f, envs
}

func TestNewFleetValidation(t *testing.T) {
	e := newEnv(t, jenkinstest.Options{}, nil)
	_, err := NewFleet([]*Client{e.client, e.client, nil}, 0)
	for _, w := range []string{`"ci" is used twice`, "controller 2 is nil", "not positive"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it to say %q", err, w)
		}
	}
}

func TestFleetListTokensIsolatesSlowAndBroken(t *testing.T) {
	f, envs := newFleet(t, 4, 300*time.Millisecond)
	envs[1].srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultHang})
	envs[2].srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultStatus500})
	envs[3].srv.RemoveUser("alice")

	start := time.Now()
	got := f.ListTokens(t.Context(), "alice")
	if el := time.Since(start); el > time.Second {
		t.Errorf("fan-out took %v, want about the 300 ms deadline", el)
	}
	if diff := cmp.Diff([]string{"c0", "c1", "c2", "c3"}, f.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	wantErrs := []error{nil, ErrRetryable, ErrRetryable, ErrUserNotFound}
	for i, r := range got {
		if r.Controller != f.Names()[i] {
			t.Errorf("result %d is %s", i, r.Controller)
		}
		if !errors.Is(r.Err, wantErrs[i]) || (wantErrs[i] == nil) != (r.Err == nil) {
			t.Errorf("%s: err = %v, want %v", r.Controller, r.Err, wantErrs[i])
		}
	}
	if len(got[0].Listing.Tokens) != 1 {
		t.Errorf("healthy controller's listing hidden: %+v", got[0])
	}
	if f.Client("c2") != envs[2].client || f.Client("nope") != nil {
		t.Error("Client lookup by name")
	}
}

func TestFleetFindAndPreflight(t *testing.T) {
	f, envs := newFleet(t, 2, time.Second)
	envs[1].srv.RemoveUser("jenkins-bot")
	users := f.FindUsersByEmail(t.Context(), "alice@example.com")
	if len(users) != 2 || len(users[0].Users) != 1 || users[0].Users[0].ID != "alice" ||
		!errors.Is(users[1].Err, ErrUnauthorized) {
		t.Errorf("find = %+v", users)
	}
	health := f.Preflight(t.Context())
	if !health[0].Usable || health[1].Usable || health[1].Controller != "c1" {
		t.Errorf("preflight = %+v", health)
	}
}

func TestFleetRevoke(t *testing.T) {
	f, envs := newFleet(t, 3, 2*time.Second)
	envs[1].srv.AddUser(jenkinstest.User{ID: "alice"}) // fresh: no tokens, new seed
	envs[2].srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultReset})
	st0, _ := envs[0].srv.UserState("alice")
	targets := []RevokeTarget{
		{Controller: "c0", UserID: "alice", UUIDs: []string{st0.Tokens[0].UUID},
			EndSessions: true},
		{Controller: "c1", UserID: "alice", UUIDs: []string{"x"}},
		{Controller: "c2", UserID: "alice", UUIDs: []string{"y"}, EndSessions: true},
		{Controller: "nope", UserID: "alice"},
	}
	got := f.Revoke(t.Context(), targets)
	if len(got) != 4 {
		t.Fatalf("got %d results", len(got))
	}
	if got[0].Err != nil || !got[0].SessionsEnded || got[0].Results[0].Outcome != Revoked {
		t.Errorf("c0 = %+v", got[0])
	}
	if got[1].Err != nil || got[1].SessionsEnded || got[1].Results[0].Outcome != AlreadyGone {
		t.Errorf("c1 = %+v", got[1])
	}
	if !IsRetryable(got[2].Err) || got[2].SessionsEnded || got[2].Results != nil {
		t.Errorf("c2 = %+v", got[2])
	}
	if !errors.Is(got[3].Err, ErrUnknownController) {
		t.Errorf("nope = %+v", got[3])
	}
	after, _ := envs[0].srv.UserState("alice")
	if after.Seed == st0.Seed || len(after.Tokens) != 0 {
		t.Errorf("c0 state after revoke: %+v", after)
	}
}

func TestFleetListTokensFor(t *testing.T) {
	f, envs := newFleet(t, 3, time.Second)
	envs[2].srv.AddUser(jenkinstest.User{ID: "asmith", Email: "alice@example.com"})
	envs[2].srv.AddToken("asmith", jenkinstest.TokenSpec{Name: "ci"})

	got := f.ListTokensFor(t.Context(), map[string]string{
		"c2": "asmith", "c0": "alice", "nowhere": "alice"})
	var names, users []string
	for _, r := range got {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Controller, r.Err)
		}
		names = append(names, r.Controller)
		users = append(users, r.Listing.User.ID)
	}
	if diff := cmp.Diff([]string{"c0", "c2"}, names); diff != "" {
		t.Errorf("controllers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alice", "asmith"}, users); diff != "" {
		t.Errorf("users listed (-want +got):\n%s", diff)
	}
}
