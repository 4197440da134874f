package main

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
)

func TestAuditExport(t *testing.T) {
	mr := miniredis.RunT(t)
	url := "redis://" + mr.Addr()
	store, err := approvals.Open(t.Context(), url, approvals.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, who := range []string{"alice", "bob"} {
		r, err := store.Create(t.Context(), approvals.NewRequest{Requester: "UREQ",
			Target: approvals.Target{Label: who}, Plan: approvals.Plan{
				Controllers: []approvals.ControllerPlan{{Controller: "ci",
					JenkinsUser: who, Tokens: []approvals.PlannedToken{{UUID: "u-" + who}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Cancel(t.Context(), r.ID, "UREQ"); err != nil {
			t.Fatal(err)
		}
	}

	var out, stderr strings.Builder
	env := lookup(map[string]string{"REDIS_URL": url})
	err = run(t.Context(), []string{"audit", "export", "--target", "alice", "--since", "1h"},
		env, &out, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var e approvals.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if e.Target.Label != "alice" {
			t.Errorf("exported an event about %s", e.Target.Label)
		}
		states = append(states, string(e.To))
	}
	if strings.Join(states, ",") != "pending,cancelled" {
		t.Errorf("exported states %v, want pending,cancelled", states)
	}
	if !strings.Contains(stderr.String(), "audit chain verified: 4 events") {
		t.Errorf("stderr = %q, want the verification summary", stderr.String())
	}

	// Tampering with an event makes the export fail its verification.
	msgs, err := mr.Stream("{jt}:audit")
	if err != nil || len(msgs) == 0 {
		t.Fatalf("read stream: %v", err)
	}
	mr.Del("{jt}:audit")
	for i, m := range msgs {
		if i == 1 {
			continue // drop one event
		}
		if _, err := mr.XAdd("{jt}:audit", m.ID, m.Values); err != nil {
			t.Fatal(err)
		}
	}
	err = run(t.Context(), []string{"audit", "export"}, env, &strings.Builder{}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "chain broken") {
		t.Errorf("export of a tampered trail: err = %v, want a broken chain", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), []string{"frobnicate"}, lookup(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("err = %v", err)
	}
}
