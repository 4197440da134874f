package jenkinstest

import (
	"crypto/subtle"
	"html"
	"net/http"
	"strings"
)

const (
	sessionCookie = "JSESSIONID.fake"
	crumbField    = "Jenkins-Crumb"
	crumbSalt     = "fake-crumb-salt"
	permRead      = "hudson.model.Hudson.Read"
	permAdmin     = "hudson.model.Hudson.Administer"
)

// caller is the authentication of one request.
type caller struct {
	name     string // "anonymous" when anonymous
	user     *user  // nil for anonymous or a deleted user
	anon     bool
	apiToken bool
	sess     *session
}

func (c *caller) admin() bool { return c.user != nil && c.user.admin }

// canAdminUser is Jenkins' check for acting on another user.
func (c *caller) canAdminUser(target *user) bool {
	return c.admin() || !c.anon && keyFor(c.name) == keyFor(target.id)
}

// serve runs the request pipeline in Jenkins' order.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Jenkins", s.version)
	w.Header().Set("X-Jenkins-Session", "0a1b2c3d")
	if f := s.record(r); s.applyFault(w, r, f) {
		return
	}
	rawPath, _, _ := strings.Cut(r.RequestURI, "?")
	if strings.Contains(rawPath, ";") {
		sendError(w, http.StatusBadRequest, "Semicolons are not allowed in the request URI")
		return
	}
	_ = r.ParseForm()

	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Jenkins"`)
		sendError(w, http.StatusUnauthorized, "Invalid password/token for user")
		return
	}
	if s.csrfBlocks(r, c) {
		sendError(w, http.StatusForbidden, "No valid crumb was included in the request")
		return
	}
	if !s.canRead(r.URL.Path, c) {
		s.denied(w, c, permRead)
		return
	}
	s.route(w, r, c)
}

// authenticate applies the session, then Basic auth. ok is false for bad
// credentials (401).
func (s *Server) authenticate(r *http.Request) (*caller, bool) {
	c := s.fromSession(r)
	if r.Header.Get("Authorization") == "" {
		return c, true
	}
	name, secret, ok := r.BasicAuth()
	if !ok {
		return nil, false
	}
	if !c.anon && c.name == name {
		return c, true // Basic is skipped: no API-token flag, crumbs needed
	}
	u := s.users[keyFor(name)]
	if u == nil {
		return nil, false
	}
	auth := &caller{name: u.id, user: u, sess: c.sess}
	switch {
	case s.matchToken(u, secret):
		auth.apiToken = true
	case u.password == "" || subtle.ConstantTimeCompare(
		[]byte(u.password), []byte(secret)) != 1:
		return nil, false
	}
	if auth.sess != nil {
		auth.sess.name, auth.sess.seed = u.id, u.seed
	}
	return auth, true
}

func (s *Server) fromSession(r *http.Request) *caller {
	anon := &caller{name: "anonymous", anon: true}
	ck, err := r.Cookie(sessionCookie)
	if err != nil || s.sessions[ck.Value] == nil {
		return anon
	}
	sess := s.sessions[ck.Value]
	anon.sess = sess
	if sess.name == "" {
		return anon
	}
	u := s.users[keyFor(sess.name)]
	if u != nil && u.seed != sess.seed {
		sess.name = "" // the seed was renewed: the session loses its identity
		return anon
	}
	// A deleted user's session keeps its identity, as in Jenkins.
	return &caller{name: sess.name, user: u, sess: sess}
}

// matchToken checks an API token against the user's entries and updates
// usage statistics on a match.
func (s *Server) matchToken(u *user, secret string) bool {
	plain := secret
	if len(secret) == 34 {
		plain = secret[2:]
	}
	h := sha256Hex(plain)
	for _, t := range u.tokens {
		if s.expired(t) || subtle.ConstantTimeCompare([]byte(h), []byte(t.hash)) != 1 {
			continue
		}
		if !s.opts.StatsDisabled {
			st := u.stats[t.uuid]
			if st == nil {
				st = &stat{}
				u.stats[t.uuid] = st
			}
			now := s.now()
			st.count++
			st.lastUsed = &now
		}
		return true
	}
	return false
}

func (s *Server) crumbFor(name string, sess *session) string {
	id := ""
	if sess != nil {
		id = sess.id
	}
	return sha256Hex(name + ";" + id + crumbSalt)
}

func (s *Server) csrfBlocks(r *http.Request, c *caller) bool {
	if r.Method != http.MethodPost || s.opts.CSRFDisabled || c.apiToken {
		return false
	}
	got := r.Header.Get(crumbField)
	if got == "" {
		got = r.PostForm.Get(crumbField)
	}
	want := s.crumbFor(c.name, c.sess)
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1
}

func (s *Server) canRead(path string, c *caller) bool {
	exempt := path == "/login" || path == "/whoAmI" ||
		strings.HasPrefix(path, "/whoAmI/") ||
		strings.HasPrefix(path, "/securityRealm/") ||
		strings.HasPrefix(path, "/adjuncts/")
	return exempt || !c.anon || s.opts.AnonymousRead
}

// denied answers 403 the way Jenkins does for anonymous and for
// authenticated callers.
func (s *Server) denied(w http.ResponseWriter, c *caller, perm string) {
	if c.anon {
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<html><head><meta http-equiv='refresh' ` +
			`content='1;url=/login?from=%2F'/></head><body>Authentication required` +
			"</body></html>\n"))
		return
	}
	w.Header().Set("X-You-Are-Authenticated-As", c.name)
	w.Header().Set("X-You-Are-In-Group-Disabled", "JENKINS-39402: use "+
		"-Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true "+
		"or use /whoAmI to diagnose")
	w.Header().Set("X-Required-Permission", perm)
	sendError(w, http.StatusForbidden, c.name+" is missing the "+perm+" permission")
}

// sendError is the servlet container's error page.
func sendError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte("<html><body><h2>HTTP ERROR " + http.StatusText(code) +
		"</h2><p>" + html.EscapeString(msg) + "</p></body></html>\n"))
}
