package slacktest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Fixed identities of the fake workspace and its bot.
const (
	TeamID    = "T0FAKE"
	TeamName  = "fake"
	AppID     = "A0FAKE"
	BotID     = "BBOT"
	BotUserID = "UBOT"
	// Command is the slash command SlashCommand sends.
	Command = "/jenkins-tokens"
)

// maxSockets is how many WebSocket connections Slack allows per app.
const maxSockets = 10

// pushWait bounds how long a push waits for an open socket.
const pushWait = 5 * time.Second

// User is a workspace member known to the fake.
type User struct {
	ID       string
	Name     string
	RealName string
	Email    string
	IsBot    bool
	Deleted  bool
}

// Channel is a conversation known to the fake. Members must include BotUserID for the
// bot to post there; otherwise chat.postMessage answers not_in_channel.
type Channel struct {
	ID      string
	Name    string
	Private bool
	Members []string
}

// Call is one recorded Web API request. Args holds form fields, or the top-level keys
// of a JSON body (non-string values as their JSON text). Error is the error code the
// fake answered with, empty on success.
type Call struct {
	Method string
	Args   map[string]string
	Time   time.Time
	Error  string
}

// Option configures a Server.
type Option func(*config)

type config struct {
	pingInterval   time.Duration
	ackDeadline    time.Duration
	redeliverAfter time.Duration
	redeliverMax   int
	now            func() time.Time
	failOnProblems bool
}

// WithPingInterval sets how often the fake sends WebSocket PING frames (default 1 s).
func WithPingInterval(d time.Duration) Option {
	return func(c *config) { c.pingInterval = d }
}

// WithAckDeadline sets how long after delivery an ack still counts as in time
// (default 3 s, as Slack).
func WithAckDeadline(d time.Duration) Option {
	return func(c *config) { c.ackDeadline = d }
}

// WithRedelivery makes the fake resend an events_api envelope that is not acked
// within after, up to max times, with a new envelope id, retry_attempt+1 and
// retry_reason "timeout", as Slack's Events API retries do.
func WithRedelivery(after time.Duration, max int) Option {
	return func(c *config) { c.redeliverAfter, c.redeliverMax = after, max }
}

// WithClock injects the clock that decides trigger_id expiry, response_url expiry,
// ack lateness and message timestamps (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithoutProblemFailures stops the cleanup from failing the test when Problems is
// not empty; tests that provoke problems on purpose use it.
func WithoutProblemFailures() Option {
	return func(c *config) { c.failOnProblems = false }
}

// Server is a fake Slack workspace. All methods are safe for concurrent use.
type Server struct {
	tb       testing.TB
	cfg      config
	srv      *httptest.Server
	appToken string
	botToken string
	upgrader websocket.Upgrader
	wg       sync.WaitGroup

	mu       sync.Mutex
	changed  chan struct{}
	closed   bool
	ids      int
	sockSeq  int
	tsUnix   int64
	tsSeq    int
	opens    int
	users    map[string]User
	channels map[string]*Channel
	groups   map[string][]string
	msgs     map[string][]*Message
	ephem    []*Message
	views    map[string]*view
	triggers map[string]*trigger
	hooks    map[string]*hook
	envs     map[string]*pending
	sockets  map[int]*socket
	acks     []Ack
	calls    []Call
	problems []string
	limits   map[string]int
}

// New starts a fake Slack on a loopback address and closes it with tb.Cleanup. At
// cleanup the test fails with every entry of Problems unless WithoutProblemFailures.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	cfg := config{
		pingInterval:   time.Second,
		ackDeadline:    3 * time.Second,
		now:            time.Now,
		failOnProblems: true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		tb: tb, cfg: cfg,
		appToken: "xapp-1-" + AppID + "-1-" + randomHex(16),
		botToken: "xoxb-1-" + randomHex(16),
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		changed:  make(chan struct{}),
		users:    map[string]User{BotUserID: {ID: BotUserID, Name: "jenkins-tokens", IsBot: true}},
		channels: map[string]*Channel{}, groups: map[string][]string{},
		msgs: map[string][]*Message{}, views: map[string]*view{},
		triggers: map[string]*trigger{}, hooks: map[string]*hook{},
		envs: map[string]*pending{}, sockets: map[int]*socket{}, limits: map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.serveAPI)
	mux.HandleFunc("GET /link/", s.serveLink)
	mux.HandleFunc("POST /hooks/{id}", s.serveHook)
	s.srv = httptest.NewServer(mux)
	tb.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	socks := s.openSockets()
	s.mu.Unlock()
	for _, so := range socks {
		so.conn.Close()
	}
	s.srv.Close()
	s.wg.Wait()
	if !s.cfg.failOnProblems {
		return
	}
	for _, p := range s.Problems() {
		s.tb.Errorf("slacktest: %s", p)
	}
}

// APIURL returns the Web API base URL for slack.OptionAPIURL; it ends with "/api/".
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// URL returns the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// AppToken returns the app-level token (xapp-) accepted by apps.connections.open.
func (s *Server) AppToken() string { return s.appToken }

// BotToken returns the bot token (xoxb-) accepted by every other Web API method.
func (s *Server) BotToken() string { return s.botToken }

// BotUserID returns the bot's user id, "UBOT".
func (s *Server) BotUserID() string { return BotUserID }

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// SetUserDeleted marks a known user as deactivated (or active again). It reports a
// test error for an unknown user.
func (s *Server) SetUserDeleted(id string, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		s.tb.Errorf("slacktest: SetUserDeleted: unknown user %s", id)
		return
	}
	u.Deleted = deleted
	s.users[id] = u
}

// AddChannel adds or replaces a channel.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Members = append([]string(nil), c.Members...)
	s.channels[c.ID] = &c
}

// AddUserGroup adds or replaces a user group (subteam) and its members.
func (s *Server) AddUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = append([]string(nil), members...)
}

// RateLimit makes the next n calls of method answer HTTP 429 with Retry-After: 1.
func (s *Server) RateLimit(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = n
}

// Calls returns the recorded Web API calls of method, oldest first; an empty method
// returns every call.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Problems returns the protocol mistakes seen so far: acks for unknown envelope ids,
// duplicate, late or oversized acks, unknown Web API methods, pushes with no socket.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// problemf records a problem; s.mu must be held.
func (s *Server) problemf(format string, args ...any) {
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.notify()
}

// notify wakes every waitFor; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true or timeout passes.
func (s *Server) waitFor(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// nextID returns prefix followed by a fresh number; s.mu must be held.
func (s *Server) nextID(prefix string) string {
	s.ids++
	return fmt.Sprintf("%s%06d", prefix, s.ids)
}

// nextTS returns a unique, monotonic message timestamp; s.mu must be held.
func (s *Server) nextTS() string {
	if now := s.cfg.now().Unix(); now > s.tsUnix {
		s.tsUnix = now
	}
	s.tsSeq++
	if s.tsSeq > 999999 {
		s.tsUnix, s.tsSeq = s.tsUnix+1, 0
	}
	return fmt.Sprintf("%d.%06d", s.tsUnix, s.tsSeq)
}

// newTrigger issues a trigger_id for views.open; s.mu must be held.
func (s *Server) newTrigger() string {
	id := s.nextID("") + "." + strings.TrimPrefix(TeamID, "T") + "." + randomHex(8)
	s.triggers[id] = &trigger{issued: s.cfg.now()}
	return id
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
