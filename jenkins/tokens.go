package jenkins

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

const (
	tokenDescriptor = "/descriptorByName/jenkins.security.ApiTokenProperty"
	seedDescriptor  = "/descriptorByName/jenkins.security.seed.UserSeedProperty"
)

// ListTokens lists a user's API tokens with the list-tokens script
// (POST /scriptText, needs Overall/Administer). It returns ErrInvalidID
// (no request sent), ErrUserNotFound when the controller has no user with
// that id (full names are not matched), a *ScriptError when the script
// printed anything but its JSON, or an *HTTPError.
func (c *Client) ListTokens(ctx context.Context, id string) (Listing, error) {
	if err := ValidateID(id); err != nil {
		return Listing{}, fmt.Errorf("list tokens on %s: %w", c.name, err)
	}
	l, err := c.listTokens(ctx, id)
	if err != nil {
		return Listing{}, fmt.Errorf("list tokens of %s on %s: %w", id, c.name, err)
	}
	return l, nil
}

func (c *Client) listTokens(ctx context.Context, id string) (Listing, error) {
	out, err := c.scriptText(ctx, "list-tokens", id)
	if err != nil {
		return Listing{}, err
	}
	l, found, err := parseListing(out)
	if err != nil {
		return Listing{}, err
	}
	if !found {
		return Listing{}, ErrUserNotFound
	}
	if !sameID(l.User.ID, id) {
		return Listing{}, fmt.Errorf("%w (asked %q, got %q)", ErrIDMismatch, id, l.User.ID)
	}
	return l, nil
}

// RevokeTokens revokes the given tokens of user id and verifies the result.
//
// It lists the tokens, checks over REST that id names that very user, then
// sends POST /user/<id>/descriptorByName/jenkins.security.ApiTokenProperty/revoke
// with tokenUuid once per listed uuid (at most 8 at a time per controller;
// never revokeAll, which leaves the legacy secret behind), and lists again.
// Each uuid gets one TokenResult, in the order of uuids, named from the
// first listing: Revoked (listed before, gone after), AlreadyGone (not
// listed before; no call sent), StillPresent (still listed, or a legacy
// token whose secret is still stored), or Failed (see Detail).
//
// The error is non-nil only when nothing was revoked: the id is invalid,
// the first listing failed or the user check failed (ErrUserNotFound,
// ErrIDMismatch). Once revoke calls were sent, it returns results and a nil
// error; failures, including a failed second listing, show as Failed.
func (c *Client) RevokeTokens(ctx context.Context, id string, uuids []string) (
	[]TokenResult, error) {
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("revoke tokens on %s: %w", c.name, err)
	}
	before, err := c.prepareRevoke(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("revoke tokens of %s on %s: %w", id, c.name, err)
	}
	callErrs := c.revokeListed(ctx, id, before, uuids)
	after, err := c.listTokens(ctx, id)
	if err != nil {
		err = fmt.Errorf("verify revocation: %w", err)
	}
	return verify(before, after, err, uuids, callErrs), nil
}

// prepareRevoke lists the tokens and checks the user over REST.
func (c *Client) prepareRevoke(ctx context.Context, id string) (Listing, error) {
	before, err := c.listTokens(ctx, id)
	if err != nil {
		return Listing{}, err
	}
	if _, err := c.lookupUser(ctx, id); err != nil {
		return Listing{}, err
	}
	return before, nil
}

// revokeListed sends one revoke call per distinct uuid that was listed and
// returns the call errors by uuid (nil for success).
func (c *Client) revokeListed(ctx context.Context, id string, before Listing,
	uuids []string) map[string]error {
	listed := tokensByUUID(before)
	errs := make(map[string]error)
	var todo []string
	for _, u := range uuids {
		_, ok := listed[u]
		_, dup := errs[u]
		if ok && !dup && strings.TrimSpace(u) != "" {
			errs[u] = nil
			todo = append(todo, u)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range todo {
		wg.Go(func() {
			err := c.revokeOne(ctx, id, u)
			mu.Lock()
			errs[u] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return errs
}

func (c *Client) revokeOne(ctx context.Context, id, uuid string) error {
	select {
	case c.revokeSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.revokeSlots }()
	form := url.Values{"tokenUuid": {uuid}}
	path := userPath(id) + tokenDescriptor + "/revoke"
	r, err := c.call(ctx, "revoke", http.MethodPost, path, "", form)
	if err != nil {
		return err
	}
	// Jenkins answers a revoke with an empty 200; a page means something
	// in front of Jenkins (a proxy, an SSO session) answered instead.
	if len(r.body) > 0 && isHTML(r) {
		return fmt.Errorf("POST %s: %w", path, ErrLoginPage)
	}
	return nil
}

func tokensByUUID(l Listing) map[string]Token {
	m := make(map[string]Token, len(l.Tokens))
	for _, t := range l.Tokens {
		m[t.UUID] = t
	}
	return m
}

// verify decides each uuid's outcome from the two listings.
func verify(before, after Listing, afterErr error, uuids []string,
	callErrs map[string]error) []TokenResult {
	was, now := tokensByUUID(before), tokensByUUID(after)
	results := make([]TokenResult, 0, len(uuids))
	for _, u := range uuids {
		tok, listed := was[u]
		r := TokenResult{UUID: u, Name: tok.Name}
		switch {
		case !listed:
			r.Outcome = AlreadyGone
		case afterErr != nil:
			r.Outcome, r.Detail, r.Err = Failed, afterErr.Error(), afterErr
		default:
			r.Outcome, r.Detail = outcome(tok, now, after, callErrs[u])
			if r.Outcome == Failed {
				r.Err = callErrs[u]
			}
		}
		results = append(results, r)
	}
	return results
}

func outcome(tok Token, now map[string]Token, after Listing, callErr error) (
	Outcome, string) {
	_, still := now[tok.UUID]
	switch {
	case still && callErr != nil:
		return Failed, "revoke call failed: " + callErr.Error()
	case still:
		return StillPresent, "revoke answered 200 but the token is still listed"
	case tok.Legacy && after.HasLegacySecret:
		return StillPresent, "the legacy token's secret is still stored; " +
			"Jenkins brings the token back on restart"
	}
	return Revoked, ""
}

// EndSessions ends all web sessions of user id by renewing the user's
// session seed: POST /user/<id>/descriptorByName/
// jenkins.security.seed.UserSeedProperty/renewSessionSeed. It first checks
// over REST that id names that user (ErrUserNotFound, ErrIDMismatch). A 404
// from renewSessionSeed is ErrSessionsDisabled: the controller runs with
// the user seed switched off, and the caller should report it and go on.
func (c *Client) EndSessions(ctx context.Context, id string) error {
	if err := ValidateID(id); err != nil {
		return fmt.Errorf("end sessions on %s: %w", c.name, err)
	}
	if err := c.endSessions(ctx, id); err != nil {
		return fmt.Errorf("end sessions of %s on %s: %w", id, c.name, err)
	}
	return nil
}

func (c *Client) endSessions(ctx context.Context, id string) error {
	if _, err := c.lookupUser(ctx, id); err != nil {
		return err
	}
	path := userPath(id) + seedDescriptor + "/renewSessionSeed"
	_, err := c.call(ctx, "end_sessions", http.MethodPost, path, "", url.Values{})
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrSessionsDisabled, err)
	}
	return err
}
