// Package approvalstest gives tests the Redis the approvals store runs on:
// the one named by REDIS_URL when it is set, an embedded one otherwise.
package approvalstest

import (
	"os"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// URL returns REDIS_URL when it is set, or the URL of an embedded Redis
// started for tb and stopped when tb ends. A REDIS_URL that does not answer
// fails tb: tests never skip for want of Redis.
func URL(tb testing.TB) string {
	tb.Helper()
	if url := os.Getenv("REDIS_URL"); url != "" {
		Client(tb, url)
		return url
	}
	return "redis://" + miniredis.RunT(tb).Addr()
}

// Client connects to the Redis at url, fails tb when it does not answer,
// and closes the connection when tb ends.
func Client(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse redis url: %v", err)
	}
	rdb := redis.NewClient(o)
	tb.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(tb.Context()).Err(); err != nil {
		tb.Fatalf("redis at %s does not answer: %v", o.Addr, err)
	}
	return rdb
}
