package jenkinstest

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// FaultKind selects how a faulty path misbehaves.
type FaultKind int

// The fault kinds.
const (
	// FaultNone answers normally.
	FaultNone FaultKind = iota
	// FaultStatus500 answers 500 with an HTML error page.
	FaultStatus500
	// FaultLoginPage answers 200 with Jenkins' HTML login page, as a proxy
	// or an expired SSO session would.
	FaultLoginPage
	// FaultSlow waits Fault.Delay, then answers normally.
	FaultSlow
	// FaultHang never answers: it waits until the client gives up or the
	// server closes.
	FaultHang
	// FaultReset hijacks the connection and resets it without an answer.
	FaultReset
	// FaultBody answers 200 text/plain with Fault.Body, for corrupt script
	// output.
	FaultBody
)

// Fault is a misbehaviour for every request whose path starts with the
// prefix given to SetFault.
type Fault struct {
	Kind  FaultKind
	Delay time.Duration
	Body  string
}

// SetFault makes requests under path prefix misbehave; the longest
// matching prefix wins. FaultNone removes the prefix's fault.
func (s *Server) SetFault(prefix string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Kind == FaultNone {
		delete(s.faults, prefix)
		return
	}
	s.faults[prefix] = f
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// Calls returns how many requests with this method and decoded path
// arrived, whatever their outcome.
func (s *Server) Calls(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method+" "+path]
}

// TotalCalls returns how many requests arrived in all.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// RevokeCalls returns how many POSTs reached the revoke handler for uuid.
func (s *Server) RevokeCalls(uuid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokes[uuid]
}

// record counts the request and returns the fault for its path.
func (s *Server) record(r *http.Request) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.calls[r.Method+" "+r.URL.Path]++
	best, f := -1, Fault{}
	for p, pf := range s.faults {
		if strings.HasPrefix(r.URL.Path, p) && len(p) > best {
			best, f = len(p), pf
		}
	}
	return f
}

// applyFault misbehaves; it returns false when the request should then be
// served normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f.Kind {
	case FaultStatus500:
		sendError(w, http.StatusInternalServerError, "Oops! A problem occurred.")
	case FaultLoginPage:
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		_, _ = w.Write([]byte(loginPage))
	case FaultSlow:
		return s.wait(r, f.Delay)
	case FaultHang:
		s.wait(r, -1)
	case FaultReset:
		reset(w)
	case FaultBody:
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		_, _ = w.Write([]byte(f.Body))
	default:
		return false
	}
	return true
}

// wait sleeps d (forever when negative) and reports whether the request
// or the server ended first.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return false
	case <-r.Context().Done():
	case <-s.closing:
	}
	return true
}

func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("jenkinstest: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

const loginPage = `<!DOCTYPE html><html><head><title>Sign in [Jenkins]</title>
</head><body><form method="post" name="login" action="j_spring_security_check">
<input name="j_username"><input name="j_password" type="password">
</form></body></html>
`
