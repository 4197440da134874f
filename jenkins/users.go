package jenkins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxIDLen is the longest user id the client accepts, in characters.
const maxIDLen = 256

// ValidateID checks a user id before it goes into a URL or a script. It
// returns an error wrapping ErrInvalidID that says what is wrong: empty,
// too long, not UTF-8, a control character (NUL included), or a dot
// segment ("." or "..") that would change the URL path.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidID)
	case utf8.RuneCountInString(id) > maxIDLen:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidID, maxIDLen)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q is a path segment", ErrInvalidID, id)
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("%w: contains control character %U", ErrInvalidID, r)
		}
	}
	return nil
}

// sameID compares ids the way Jenkins' default (case-insensitive) id
// strategy does.
func sameID(a, b string) bool {
	return strings.EqualFold(a, b)
}

// userPath is /user/<escaped id>. url.PathEscape never leaves a raw ';',
// which Jenkins would refuse with 400.
func userPath(id string) string {
	return "/user/" + url.PathEscape(id)
}

type wireRESTUser struct {
	ID       string `json:"id"`
	FullName string `json:"fullName"`
	Property []struct {
		Address *string `json:"address"`
	} `json:"property"`
}

// LookupUser reads a user over REST without creating one:
// GET /user/<id>/api/json?tree=id,fullName,property[address]. It returns
// ErrInvalidID (no request sent), ErrUserNotFound for a 404, and
// ErrIDMismatch (which wraps ErrUserNotFound) when Jenkins resolved id to a
// user whose id differs, i.e. matched a full name. Email is the Mailer
// property's address, or empty.
func (c *Client) LookupUser(ctx context.Context, id string) (User, error) {
	if err := ValidateID(id); err != nil {
		return User{}, fmt.Errorf("look up user on %s: %w", c.name, err)
	}
	u, err := c.lookupUser(ctx, id)
	if err != nil {
		return User{}, fmt.Errorf("look up user %s on %s: %w", id, c.name, err)
	}
	return u, nil
}

func (c *Client) lookupUser(ctx context.Context, id string) (User, error) {
	query := url.Values{"tree": {"id,fullName,property[address]"}}.Encode()
	r, err := c.call(ctx, "lookup_user", http.MethodGet, userPath(id)+"/api/json", query, nil)
	if errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("%w: %w", ErrUserNotFound, err)
	}
	if err != nil {
		return User{}, err
	}
	if isHTML(r) {
		return User{}, ErrLoginPage
	}
	var w wireRESTUser
	if err := json.Unmarshal(r.body, &w); err != nil || w.ID == "" {
		return User{}, fmt.Errorf("decode user: unexpected answer %q", excerpt(r.body))
	}
	if !sameID(w.ID, id) {
		return User{}, fmt.Errorf("%w (asked %q, got %q)", ErrIDMismatch, id, w.ID)
	}
	u := User{ID: w.ID, FullName: w.FullName}
	for _, p := range w.Property {
		if p.Address != nil && *p.Address != "" {
			u.Email = *p.Address
			break
		}
	}
	return u, nil
}

// FindUsersByEmail returns every user whose explicitly configured email
// equals email case-insensitively, sorted by id, using the find-by-email
// script (POST /scriptText). No match is an empty slice and no error.
// Script output that is not the expected JSON is a *ScriptError.
func (c *Client) FindUsersByEmail(ctx context.Context, email string) ([]User, error) {
	if err := validateEmail(email); err != nil {
		return nil, fmt.Errorf("find users by email on %s: %w", c.name, err)
	}
	out, err := c.scriptText(ctx, "find-by-email", email)
	if err != nil {
		return nil, fmt.Errorf("find users by email %s on %s: %w", email, c.name, err)
	}
	users, err := parseUsers(out)
	if err != nil {
		return nil, fmt.Errorf("find users by email %s on %s: %w", email, c.name, err)
	}
	return users, nil
}

// ErrInvalidEmail means an email address was refused before any request.
var ErrInvalidEmail = errors.New("invalid email address")

func validateEmail(email string) error {
	switch {
	case email == "" || !strings.Contains(email, "@"):
		return fmt.Errorf("%w: %q has no @", ErrInvalidEmail, email)
	case len(email) > 320 || !utf8.ValidString(email):
		return fmt.Errorf("%w: too long or not UTF-8", ErrInvalidEmail)
	}
	for _, r := range email {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: contains control character %U", ErrInvalidEmail, r)
		}
	}
	return nil
}
