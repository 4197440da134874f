package jenkins

import (
	"net/url"
	"testing"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins/jenkinstest"
)

// BenchmarkFleetList20Slow lists a user on 20 controllers that each take
// 200 ms to answer. ratio is wall time per listing over one controller's
// 200 ms; the goal is at most 1.2.
func BenchmarkFleetList20Slow(b *testing.B) {
	const delay = 200 * time.Millisecond
	f, envs := newFleet(b, 20, 5*time.Second)
	for _, e := range envs {
		e.srv.SetFault("/scriptText", jenkinstest.Fault{Kind: jenkinstest.FaultSlow,
			Delay: delay})
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, r := range f.ListTokens(b.Context(), "alice") {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "wall-ms/op")
	b.ReportMetric(float64(per)/float64(delay), "ratio")
}

// BenchmarkRevokeAll revokes 50 tokens on each of 3 controllers, every
// request delayed 5 ms, through Fleet.Revoke (list, check, revoke 8 at a
// time, list again) and compares it with the same revocations sent one
// after another, as a shell loop of curl calls would, without verification.
// speedup is sequential time over fleet time; the aim is at least 5.
func BenchmarkRevokeAll(b *testing.B) {
	const perReq = 5 * time.Millisecond
	f, envs := newFleet(b, 3, 30*time.Second)
	for _, e := range envs {
		e.srv.SetFault("/", jenkinstest.Fault{Kind: jenkinstest.FaultSlow, Delay: perReq})
	}
	var fleetTime, seqTime time.Duration
	for range b.N {
		targets := addTokens(envs)
		start := time.Now()
		for _, r := range f.Revoke(b.Context(), targets) {
			if r.Err != nil || len(r.Results) != 50 || r.Results[0].Outcome != Revoked {
				b.Fatalf("%+v", r)
			}
		}
		fleetTime += time.Since(start)

		targets = addTokens(envs)
		start = time.Now()
		revokeSequentially(b, envs, targets)
		seqTime += time.Since(start)
	}
	b.ReportMetric(float64(fleetTime.Milliseconds())/float64(b.N), "fleet-ms/op")
	b.ReportMetric(float64(seqTime.Milliseconds())/float64(b.N), "sequential-ms/op")
	b.ReportMetric(float64(seqTime)/float64(fleetTime), "speedup")
}

func addTokens(envs []*env) []RevokeTarget {
	var targets []RevokeTarget
	for _, e := range envs {
		t := RevokeTarget{Controller: e.client.name, UserID: "alice"}
		for range 50 {
			u, _ := e.srv.AddToken("alice", jenkinstest.TokenSpec{Name: "t"})
			t.UUIDs = append(t.UUIDs, u)
		}
		targets = append(targets, t)
	}
	return targets
}

func revokeSequentially(b *testing.B, envs []*env, targets []RevokeTarget) {
	b.Helper()
	for i, t := range targets {
		c := envs[i].client
		for _, u := range t.UUIDs {
			_, err := c.call(b.Context(), "revoke", "POST", userPath(t.UserID)+tokenDescriptor+
				"/revoke", "", url.Values{"tokenUuid": {u}})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
