package jenkinstest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

const (
	tokenProperty = "jenkins.security.ApiTokenProperty"
	seedProperty  = "jenkins.security.seed.UserSeedProperty"
)

// route dispatches an authenticated request that passed CSRF and READ.
//
// TODO: generateNewToken, rename, doDelete, the legacy-token administrative
// monitor, /asynchPeople and a case-sensitive id strategy are not modelled;
// the bot does not call them yet.
func (s *Server) route(w http.ResponseWriter, r *http.Request, c *caller) {
	segs := segments(r)
	switch {
	case r.URL.Path == "/whoAmI/api/json":
		s.whoAmI(w, c)
	case r.URL.Path == "/crumbIssuer/api/json":
		s.crumbIssuer(w, r, c)
	case r.URL.Path == "/scriptText":
		s.scriptText(w, r, c)
	case len(segs) >= 2 && segs[0] == "user":
		s.userRoute(w, r, c, segs)
	default:
		sendError(w, http.StatusNotFound, "Not Found")
	}
}

// segments splits the raw path and decodes each segment, as Stapler does.
func segments(r *http.Request) []string {
	var out []string
	for seg := range strings.SplitSeq(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		out = append(out, dec)
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		sendError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func (s *Server) whoAmI(w http.ResponseWriter, c *caller) {
	auths := []string{"anonymous"}
	if !c.anon {
		auths = []string{"authenticated"}
	}
	writeJSON(w, object{
		{"_class", "hudson.security.WhoAmI"},
		{"anonymous", c.anon},
		{"authenticated", true},
		{"authorities", auths},
		{"name", c.name},
	})
}

// crumbIssuer creates a session bound to the caller and returns its crumb.
func (s *Server) crumbIssuer(w http.ResponseWriter, r *http.Request, c *caller) {
	if s.opts.CSRFDisabled {
		sendError(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Form.Has("jsonp") {
		sendError(w, http.StatusForbidden, "jsonp is not allowed")
		return
	}
	sess := c.sess
	if sess == nil {
		sess = &session{id: randHex(16)}
		if !c.anon && c.user != nil {
			sess.name, sess.seed = c.user.id, c.user.seed
		}
		s.sessions[sess.id] = sess
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.id, Path: "/",
			HttpOnly: true})
	}
	writeJSON(w, object{
		{"_class", "hudson.security.csrf.DefaultCrumbIssuer"},
		{"crumb", s.crumbFor(c.name, sess)},
		{"crumbRequestField", crumbField},
	})
}

// userRoute serves /user/{u}/...: unknown user 404, then method 405,
// then permission 403, then the handler.
func (s *Server) userRoute(w http.ResponseWriter, r *http.Request, c *caller,
	segs []string) {
	target := s.lookup(segs[1])
	if target == nil {
		sendError(w, http.StatusNotFound, "Not Found")
		return
	}
	rest := segs[2:]
	if len(rest) == 2 && rest[0] == "api" && rest[1] == "json" {
		s.userJSON(w, r, c, target)
		return
	}
	if len(rest) != 3 || rest[0] != "descriptorByName" {
		sendError(w, http.StatusNotFound, "Not Found")
		return
	}
	h := s.descriptorAction(descriptorName(rest[1]), rest[2])
	if h == nil {
		sendError(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		sendError(w, http.StatusMethodNotAllowed, "This URL requires POST")
		return
	}
	if !c.canAdminUser(target) {
		s.denied(w, c, permAdmin)
		return
	}
	h(w, r, target)
}

// descriptorName accepts the full class name or the unambiguous short one.
func descriptorName(n string) string {
	switch n {
	case "ApiTokenProperty":
		return tokenProperty
	case "UserSeedProperty":
		return seedProperty
	}
	return n
}

type userAction func(http.ResponseWriter, *http.Request, *user)

func (s *Server) descriptorAction(desc, action string) userAction {
	modern := s.versionAtLeast("2.260")
	switch {
	case desc == tokenProperty && action == "revoke":
		return s.revoke
	case desc == tokenProperty && action == "revokeAll" && modern:
		return s.revokeAll
	case desc == tokenProperty && action == "revokeAllExcept" && modern:
		return s.revokeAllExcept
	case desc == seedProperty && action == "renewSessionSeed":
		return s.renewSessionSeed
	}
	return nil
}

// revoke removes one token; a legacy entry takes the legacy secret with it.
// It answers 200 with an empty body even when nothing matched.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.Form.Get("tokenUuid")
	s.revokes[id]++
	if strings.TrimSpace(id) == "" {
		sendError(w, http.StatusBadRequest, "The tokenUuid cannot be empty")
		return
	}
	if t := u.removeToken(id); t != nil {
		if t.legacy {
			u.legacySecret = ""
		}
		if !s.opts.StatsDisabled {
			delete(u.stats, id)
		}
	}
	w.WriteHeader(http.StatusOK)
}

// revokeAll has Jenkins' flaw: tokens and stats go, the legacy secret stays.
func (s *Server) revokeAll(w http.ResponseWriter, _ *http.Request, u *user) {
	u.tokens = nil
	clear(u.stats)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) revokeAllExcept(w http.ResponseWriter, r *http.Request, u *user) {
	keep := r.Form.Get("tokenUuid")
	if strings.TrimSpace(keep) == "" {
		sendError(w, http.StatusBadRequest, "The tokenUuid cannot be empty")
		return
	}
	var kept []*token
	for _, t := range u.tokens {
		if t.uuid == keep {
			kept = append(kept, t)
		}
	}
	u.tokens = kept
	for id := range u.stats {
		if id != keep {
			delete(u.stats, id)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) renewSessionSeed(w http.ResponseWriter, _ *http.Request, u *user) {
	if s.opts.UserSeedDisabled {
		sendError(w, http.StatusNotFound, "User seed feature is disabled")
		return
	}
	u.seed = randHex(8)
	w.WriteHeader(http.StatusOK)
}
