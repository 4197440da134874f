package approvals

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// Run against the real Redis with:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench . -benchtime 2000x ./approvals/

// benchBackend is the real Redis when REDIS_URL is set, else miniredis
// (whose figures say little about production).
func benchBackend(b *testing.B) backend {
	if url := os.Getenv("REDIS_URL"); url != "" {
		return redisBackend(url)
	}
	b.Log("REDIS_URL not set: measuring miniredis")
	return miniBackend
}

func benchFixture(b *testing.B, o Options) *fixture {
	b.Helper()
	f := newFixture(b, benchBackend(b), o)
	if err := f.s.LoadScripts(b.Context()); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkRoundTrips counts Redis round trips per transition (create,
// approve, claim, finish).
func BenchmarkRoundTrips(b *testing.B) {
	f := benchFixture(b, Options{})
	hook := &countHook{}
	f.rdb.AddHook(hook)
	ctx := b.Context()
	for b.Loop() {
		r, err := f.s.Create(ctx, sampleNew())
		if err != nil {
			b.Fatal(err)
		}
		if _, err = f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash); err != nil {
			b.Fatal(err)
		}
		if _, err = f.s.Claim(ctx, r.ID, "a", time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, err = f.s.Finish(ctx, r.ID, "a", nil, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(hook.n.Load())/float64(4*b.N), "roundtrips/transition")
}

// BenchmarkTransitions measures create+approve pairs on distinct requests
// with 1 and 16 goroutines.
func BenchmarkTransitions(b *testing.B) {
	b.Run("goroutines=1", func(b *testing.B) {
		f := benchFixture(b, Options{})
		start := time.Now()
		for b.Loop() {
			createApprove(b, f)
		}
		b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "transitions/s")
	})
	b.Run("goroutines=16", func(b *testing.B) {
		f := benchFixture(b, Options{})
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				createApprove(b, f)
			}
		})
		b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "transitions/s")
	})
}

func createApprove(b *testing.B, f *fixture) {
	ctx := b.Context()
	r, err := f.s.Create(ctx, sampleNew())
	if err == nil {
		_, err = f.s.Approve(ctx, r.ID, "UAPP", r.PlanHash)
	}
	if err != nil {
		b.Error(err)
	}
}

// BenchmarkPendingMemory reports the Redis memory of one pending request
// (MEMORY USAGE of its hash, and its share of the indexes), and the Go heap
// still held after creating 10,000 pending requests, which should be none:
// the store keeps no state in the process.
func BenchmarkPendingMemory(b *testing.B) {
	if os.Getenv("REDIS_URL") == "" {
		b.Skip("needs REDIS_URL: miniredis keeps its data in this process")
	}
	f := benchFixture(b, Options{})
	ctx := b.Context()
	const n = 10_000
	before := heapAfterGC()
	var last *Request
	for range n {
		r, err := f.s.Create(ctx, sampleNew())
		if err != nil {
			b.Fatal(err)
		}
		last = r
	}
	held := int64(heapAfterGC()) - int64(before)

	var hash int64
	for b.Loop() { // the timed part is MEMORY USAGE itself
		var err error
		if hash, err = f.rdb.MemoryUsage(ctx, f.s.reqKey(last.ID), 0).Result(); err != nil {
			b.Fatal(err)
		}
	}
	var index int64
	for _, k := range []string{f.s.key("pending"), f.s.indexKey("alice"), f.s.indexKey("UALICE")} {
		m, err := f.rdb.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			b.Fatal(err)
		}
		index += m
	}
	count, _ := f.rdb.ZCard(ctx, f.s.key("pending")).Result()
	audit, err := f.rdb.MemoryUsage(ctx, f.s.key("audit"), 0).Result()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(audit)/float64(count), "audit-B/event")
	b.ReportMetric(float64(hash), "redis-B/request")
	b.ReportMetric(float64(index)/float64(count), "index-B/request")
	b.ReportMetric(float64(held), "heap-B/10k-requests")
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
