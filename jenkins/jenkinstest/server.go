package jenkinstest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultVersion is the Jenkins version the fake reports when
// Options.Version is empty.
const DefaultVersion = "2.479.3"

// Options configures a fake controller. The zero value is a current LTS
// with CSRF protection, usage statistics and the user seed switched on.
type Options struct {
	// Version selects version-gated behaviour: revokeAll and
	// revokeAllExcept need 2.260, token expiry needs 2.548.
	Version string
	// CSRFDisabled switches off crumb checks; /crumbIssuer is then 404.
	CSRFDisabled bool
	// StatsDisabled switches off token usage statistics.
	StatsDisabled bool
	// UserSeedDisabled makes renewSessionSeed answer 404.
	UserSeedDisabled bool
	// AnonymousRead grants Overall/Read to anonymous callers.
	AnonymousRead bool
	// Now is the fake's clock; time.Now when nil.
	Now func() time.Time
}

// Server is a fake Jenkins controller. Create it with New.
type Server struct {
	// URL is the controller's root URL, without a trailing slash.
	URL string

	ts      *httptest.Server
	closing chan struct{}
	once    sync.Once
	version string
	now     func() time.Time

	mu       sync.Mutex
	opts     Options
	users    map[string]*user
	sessions map[string]*session
	faults   map[string]Fault
	calls    map[string]int
	revokes  map[string]int
	total    int
}

// New starts a fake controller and closes it when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := &Server{
		closing:  make(chan struct{}),
		version:  opts.Version,
		now:      opts.Now,
		opts:     opts,
		users:    make(map[string]*user),
		sessions: make(map[string]*session),
		faults:   make(map[string]Fault),
		calls:    make(map[string]int),
		revokes:  make(map[string]int),
	}
	if s.version == "" {
		s.version = DefaultVersion
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	tb.Cleanup(s.Close)
	return s
}

// Close ends hanging requests and shuts the server down. It is safe to
// call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// Client returns an HTTP client without a cookie jar that trusts the server.
func (s *Server) Client() *http.Client {
	return s.ts.Client()
}

// versionAtLeast compares the fake's version with a dotted version.
func (s *Server) versionAtLeast(min string) bool {
	have, want := versionParts(s.version), versionParts(min)
	for i := range max(len(have), len(want)) {
		h, w := part(have, i), part(want, i)
		if h != w {
			return h > w
		}
	}
	return true
}

func versionParts(v string) []int {
	var out []int
	for p := range strings.SplitSeq(v, ".") {
		n, _ := strconv.Atoi(p)
		out = append(out, n)
	}
	return out
}

func part(p []int, i int) int {
	if i < len(p) {
		return p[i]
	}
	return 0
}
