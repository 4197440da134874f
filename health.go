package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/bot"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// preflightEvery is how often the controllers' health is checked again.
const preflightEvery = 5 * time.Minute

// health answers the liveness and readiness probes.
type health struct {
	bot   *bot.Bot
	store *approvals.Store
	fleet *jenkins.Fleet
	log   *slog.Logger

	mu       sync.Mutex
	checks   []jenkins.Health
	checkedN int
}

func newHealth(b *bot.Bot, store *approvals.Store, fleet *jenkins.Fleet,
	log *slog.Logger) *health {
	return &health{bot: b, store: store, fleet: fleet, log: log}
}

// listen serves /healthz, /readyz and /metrics on addr until ctx ends, and
// checks the controllers in the background.
func (h *health) listen(ctx context.Context, addr string,
	reg *prometheus.Registry) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", h.ready)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on HTTP_ADDR %s: %w", addr, err)
	}
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux,
		ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("http server", "err", err)
		}
	}()
	go h.preflightLoop(ctx)
	return srv, nil
}

func shutdown(srv *http.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Error("http server shutdown", "err", err)
	}
}

func (h *health) preflightLoop(ctx context.Context) {
	for {
		checks := h.fleet.Preflight(ctx)
		for _, c := range checks {
			if !c.Usable && ctx.Err() == nil {
				h.log.Error("controller not usable", "controller", c.Controller,
					"problem", c.Problem)
			}
		}
		h.mu.Lock()
		h.checks = checks
		h.checkedN++
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(preflightEvery):
		}
	}
}

// ready reports 200 only when Socket Mode is connected, Redis answers and
// at least one controller is usable; the body says what is not.
func (h *health) ready(w http.ResponseWriter, r *http.Request) {
	problems := h.problems(r.Context())
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: "+strings.Join(problems, "; "))
		return
	}
	fmt.Fprintln(w, "ready")
}

func (h *health) problems(ctx context.Context) []string {
	var out []string
	if up, _ := h.bot.Status(); !up {
		out = append(out, "slack socket mode is not connected")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := h.store.Redis().Ping(ctx).Err(); err != nil {
		out = append(out, "redis does not answer")
	}
	h.mu.Lock()
	checks, n := h.checks, h.checkedN
	h.mu.Unlock()
	if n == 0 {
		return append(out, "jenkins controllers not checked yet")
	}
	var bad []string
	for _, c := range checks {
		if !c.Usable {
			bad = append(bad, c.Controller+": "+c.Problem)
		}
	}
	if len(bad) == len(checks) {
		out = append(out, "no jenkins controller is usable ("+strings.Join(bad, "; ")+")")
	}
	return out
}
