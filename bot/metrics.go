package bot

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bot's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	commands     *prometheus.CounterVec
	approvals    *prometheus.CounterVec
	revocations  *prometheus.CounterVec
	jenkinsCalls *prometheus.HistogramVec
	slackCalls   *prometheus.CounterVec
	ackLatency   prometheus.Histogram
	pending      prometheus.Gauge
	reconnects   prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jenkins_tokens_commands_total",
			Help: "Commands and triggers handled, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jenkins_tokens_approvals_total",
			Help: "Decisions on revocation requests, by outcome.",
		}, []string{"outcome"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jenkins_tokens_revocations_total",
			Help: "Verified per-token revocation results, by controller and result.",
		}, []string{"controller", "result"}),
		jenkinsCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jenkins_tokens_jenkins_call_seconds",
			Help:    "Jenkins HTTP call latency, by controller, operation and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"controller", "operation", "outcome"}),
		slackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jenkins_tokens_slack_api_calls_total",
			Help: "Slack Web API calls, by method and result (ok, rate_limited, " +
				"http_error, or Slack's error code).",
		}, []string{"method", "result"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jenkins_tokens_envelope_ack_seconds",
			Help:    "Time from receiving a Socket Mode envelope to queueing its ack.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jenkins_tokens_pending_requests",
			Help: "Revocation requests waiting for approval.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jenkins_tokens_socket_reconnects_total",
			Help: "Socket Mode connections opened after the first.",
		}),
	}
	reg.MustRegister(m.commands, m.approvals, m.revocations, m.jenkinsCalls,
		m.slackCalls, m.ackLatency, m.pending, m.reconnects)
	return m
}

func (m *Metrics) command(kind, outcome string) {
	if m != nil {
		m.commands.WithLabelValues(kind, outcome).Inc()
	}
}

func (m *Metrics) approval(outcome string) {
	if m != nil {
		m.approvals.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) revocation(controller, result string) {
	if m != nil {
		m.revocations.WithLabelValues(controller, result).Inc()
	}
}

func (m *Metrics) acked(d time.Duration) {
	if m != nil {
		m.ackLatency.Observe(d.Seconds())
	}
}

func (m *Metrics) setPending(n int) {
	if m != nil {
		m.pending.Set(float64(n))
	}
}

func (m *Metrics) reconnected() {
	if m != nil {
		m.reconnects.Inc()
	}
}

// JenkinsObserver returns a function for jenkins.Config.Observe that
// records call latency for one controller.
func (m *Metrics) JenkinsObserver(controller string) func(string, time.Duration, error) {
	return func(op string, d time.Duration, err error) {
		if m == nil {
			return
		}
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		m.jenkinsCalls.WithLabelValues(controller, op, outcome).Observe(d.Seconds())
	}
}

// SlackTransport wraps an HTTP transport to count Slack Web API calls by
// method and result, rate limits included.
func (m *Metrics) SlackTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if m == nil {
			return resp, err
		}
		method := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
		if !strings.Contains(req.URL.Path, "/api/") {
			method = "response_url"
		}
		m.slackCalls.WithLabelValues(method, slackResult(resp, err)).Inc()
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// slackResult classifies a Web API answer, peeking at its JSON body for
// Slack's own error code and putting the body back for the caller.
func slackResult(resp *http.Response, err error) string {
	switch {
	case err != nil:
		return "http_error"
	case resp.StatusCode == http.StatusTooManyRequests:
		return "rate_limited"
	case resp.StatusCode != http.StatusOK:
		return "http_error"
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return "http_error"
	}
	var r struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil || r.OK == nil || *r.OK {
		return "ok"
	}
	if r.Error == "" {
		return "error"
	}
	return r.Error
}
