package jenkinstest

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// User describes a user to add to the fake.
type User struct {
	ID string
	// FullName defaults to ID.
	FullName string
	// Email is the explicitly configured Mailer address; empty for none.
	Email string
	// Password allows Basic auth with a password (which needs crumbs).
	Password string
	// Admin grants Overall/Administer.
	Admin bool
}

// TokenSpec describes an API token to add.
type TokenSpec struct {
	Name string
	// Expires is the expiry date as yyyy-mm-dd, empty for never. It only
	// takes effect on version 2.548 or later, as in Jenkins.
	Expires string
}

// UserState is a snapshot of one user, for assertions.
type UserState struct {
	ID, FullName, Email string
	Admin               bool
	// Seed changes when renewSessionSeed ends the user's sessions.
	Seed string
	// HasLegacySecret is true while the legacy token seed is stored.
	HasLegacySecret bool
	// Tokens are in insertion order.
	Tokens []TokenState
}

// TokenState is a snapshot of one token with its usage statistics as
// stored (whether or not statistics are enabled).
type TokenState struct {
	UUID, Name string
	Legacy     bool
	Created    *time.Time
	Expires    string
	UseCount   int
	LastUsed   *time.Time
}

type token struct {
	uuid, name string
	legacy     bool
	created    *time.Time
	expires    string
	hash       string
}

type stat struct {
	count    int
	lastUsed *time.Time
}

type user struct {
	id, fullName, email, password string
	admin                         bool
	seed                          string
	legacySecret                  string
	tokens                        []*token
	stats                         map[string]*stat
}

type session struct {
	id   string
	name string // empty when anonymous
	seed string
}

// keyFor is Jenkins' default case-insensitive id strategy.
func keyFor(id string) string {
	return strings.ToLower(id)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// AddUser adds or replaces a user, with a fresh seed and no tokens.
func (s *Server) AddUser(u User) {
	if u.FullName == "" {
		u.FullName = u.ID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[keyFor(u.ID)] = &user{
		id: u.ID, fullName: u.FullName, email: u.Email, password: u.Password,
		admin: u.Admin, seed: randHex(8), stats: make(map[string]*stat),
	}
}

// RemoveUser deletes a user with its tokens, as POST doDelete would.
func (s *Server) RemoveUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, keyFor(id))
}

// AddToken gives a user a new API token and returns its uuid and value
// ("11" followed by 32 hex digits; only its hash is stored). It panics if
// the user does not exist.
func (s *Server) AddToken(userID string, spec TokenSpec) (uuidStr, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser(userID)
	secret := randHex(16)
	now := s.now()
	t := &token{uuid: uuid.NewString(), name: spec.Name, created: &now,
		expires: spec.Expires, hash: sha256Hex(secret)}
	u.tokens = append(u.tokens, t)
	return t.uuid, "11" + secret
}

// AddLegacyToken gives a user a legacy token (from before Jenkins 2.129,
// with no creation date) and returns its uuid and value (32 hex digits).
// It panics if the user does not exist.
func (s *Server) AddLegacyToken(userID string) (uuidStr, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser(userID)
	u.legacySecret = randHex(16)
	u.tokens = slices.DeleteFunc(u.tokens, func(t *token) bool { return t.legacy })
	t := legacyEntry(u.legacySecret)
	u.tokens = append(u.tokens, t)
	return t.uuid, md5Hex(u.legacySecret)
}

func legacyEntry(secret string) *token {
	return &token{uuid: uuid.NewString(), name: "Legacy Token", legacy: true,
		hash: sha256Hex(md5Hex(secret))}
}

func (s *Server) mustUser(id string) *user {
	u := s.users[keyFor(id)]
	if u == nil {
		panic("jenkinstest: no user " + id)
	}
	return u
}

// Restart does what a Jenkins restart does to tokens: every user whose
// legacy secret is still stored but who has no legacy entry gets the legacy
// token back, under a new uuid and with no creation date.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		hasEntry := slices.ContainsFunc(u.tokens, func(t *token) bool { return t.legacy })
		if u.legacySecret != "" && !hasEntry {
			u.tokens = append(u.tokens, legacyEntry(u.legacySecret))
		}
	}
}

// SetStatsEnabled switches token usage statistics on or off. Stored
// statistics are kept while off, as in Jenkins.
func (s *Server) SetStatsEnabled(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.StatsDisabled = !on
}

// UserState returns a snapshot of a user, and false if there is none.
func (s *Server) UserState(id string) (UserState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[keyFor(id)]
	if u == nil {
		return UserState{}, false
	}
	st := UserState{ID: u.id, FullName: u.fullName, Email: u.email, Admin: u.admin,
		Seed: u.seed, HasLegacySecret: u.legacySecret != ""}
	for _, t := range u.tokens {
		ts := TokenState{UUID: t.uuid, Name: t.name, Legacy: t.legacy,
			Created: t.created, Expires: t.expires}
		if sv := u.stats[t.uuid]; sv != nil {
			ts.UseCount, ts.LastUsed = sv.count, sv.lastUsed
		}
		st.Tokens = append(st.Tokens, ts)
	}
	return st, true
}

// expired reports whether a token's expiry date lies before today.
func (s *Server) expired(t *token) bool {
	if t.expires == "" || !s.versionAtLeast("2.548") {
		return false
	}
	today := s.now().UTC().Format(time.DateOnly)
	return t.expires < today
}

// lookup resolves a /user/{u} segment: id first, then full name.
func (s *Server) lookup(u string) *user {
	if usr := s.users[keyFor(u)]; usr != nil {
		return usr
	}
	ids := make([]string, 0, len(s.users))
	for k := range s.users {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	for _, k := range ids {
		if s.users[k].fullName == u {
			return s.users[k]
		}
	}
	return nil
}

func (u *user) removeToken(id string) *token {
	i := slices.IndexFunc(u.tokens, func(t *token) bool { return t.uuid == id })
	if i < 0 {
		return nil
	}
	t := u.tokens[i]
	u.tokens = slices.Delete(u.tokens, i, i+1)
	return t
}
