package jenkins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Fleet is a fixed set of controllers, each with its own Client. Its fan-out
// methods call every controller concurrently, give each call its own
// deadline, and return one result per controller in configured order: a slow
// or failing controller never delays the others past its deadline or hides
// their results. A Fleet is safe for concurrent use.
type Fleet struct {
	clients []*Client
	byName  map[string]*Client
	per     time.Duration
}

// NewFleet returns a fleet of clients with unique, non-empty names.
// perController bounds each controller's part of a fan-out call (listing,
// or a whole revocation); it must be positive.
func NewFleet(clients []*Client, perController time.Duration) (*Fleet, error) {
	f := &Fleet{byName: make(map[string]*Client), per: perController}
	var errs []error
	if perController <= 0 {
		errs = append(errs, fmt.Errorf("per-controller timeout %v is not positive",
			perController))
	}
	if len(clients) == 0 {
		errs = append(errs, errors.New("no controllers"))
	}
	for i, c := range clients {
		switch {
		case c == nil:
			errs = append(errs, fmt.Errorf("controller %d is nil", i))
		case f.byName[c.name] != nil:
			errs = append(errs, fmt.Errorf("controller name %q is used twice", c.name))
		default:
			f.byName[c.name] = c
			f.clients = append(f.clients, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("build fleet: %w", err)
	}
	return f, nil
}

// Names returns the controller names in configured order.
func (f *Fleet) Names() []string {
	names := make([]string, len(f.clients))
	for i, c := range f.clients {
		names[i] = c.name
	}
	return names
}

// Client returns the client for a controller name, or nil if unknown.
func (f *Fleet) Client(name string) *Client {
	return f.byName[name]
}

// fanOut runs fn once per index with a per-controller deadline and waits
// for all of them.
func (f *Fleet) fanOut(ctx context.Context, n int, fn func(context.Context, int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, f.per)
			defer cancel()
			fn(cctx, i)
		})
	}
	wg.Wait()
}

// ControllerListing is one controller's answer to Fleet.ListTokens.
type ControllerListing struct {
	Controller string
	Listing    Listing
	// Err is as for Client.ListTokens; ErrUserNotFound is the common case of
	// a user who never had an account there.
	Err error
}

// ListTokens lists user id's tokens on every controller at once.
func (f *Fleet) ListTokens(ctx context.Context, id string) []ControllerListing {
	ids := make(map[string]string, len(f.clients))
	for _, c := range f.clients {
		ids[c.name] = id
	}
	return f.ListTokensFor(ctx, ids)
}

// ListTokensFor lists tokens on the controllers named in ids, each for its
// own user id, at once and with the per-controller deadline. Results follow
// the configured controller order; controllers not in ids are left out,.
// a name that is not configured yields an ErrUnknownController result.
func (f *Fleet) ListTokensFor(ctx context.Context, ids map[string]string) []ControllerListing {
	var clients []*Client
	for _, c := range f.clients {
		if _, ok := ids[c.name]; ok {
			clients = append(clients, c)
		}
	}
	out := make([]ControllerListing, len(clients))
	f.fanOut(ctx, len(clients), func(ctx context.Context, i int) {
		c := clients[i]
		l, err := c.ListTokens(ctx, ids[c.name])
		out[i] = ControllerListing{Controller: c.name, Listing: l, Err: err}
	})
	return out
}

// ControllerUsers is one controller's answer to Fleet.FindUsersByEmail.
type ControllerUsers struct {
	Controller string
	Users      []User
	Err        error
}

// FindUsersByEmail asks every controller at once for users with that email.
func (f *Fleet) FindUsersByEmail(ctx context.Context, email string) []ControllerUsers {
	out := make([]ControllerUsers, len(f.clients))
	f.fanOut(ctx, len(f.clients), func(ctx context.Context, i int) {
		c := f.clients[i]
		users, err := c.FindUsersByEmail(ctx, email)
		out[i] = ControllerUsers{Controller: c.name, Users: users, Err: err}
	})
	return out
}

// Preflight checks every controller at once.
func (f *Fleet) Preflight(ctx context.Context) []Health {
	out := make([]Health, len(f.clients))
	f.fanOut(ctx, len(f.clients), func(ctx context.Context, i int) {
		out[i] = f.clients[i].Preflight(ctx)
	})
	return out
}

// RevokeTarget names the tokens to revoke for one user on one controller.
type RevokeTarget struct {
	Controller string
	UserID     string
	UUIDs      []string
	// EndSessions also renews the user's session seed after revoking.
	EndSessions bool
}

// ControllerRevocation is the verified result of one RevokeTarget.
type ControllerRevocation struct {
	Controller string
	UserID     string
	// Results are as for Client.RevokeTokens; nil when Err is set.
	Results []TokenResult
	// SessionsEnded is true when EndSessions was asked for and succeeded.
	SessionsEnded bool
	// SessionsErr is EndSessions' error (ErrSessionsDisabled is common).
	SessionsErr error
	// Err means nothing was revoked: ErrUnknownController, invalid id,
	// listing or user check failed. Sessions are then left alone.
	Err error
}

// Revoke carries out all targets at once, each with its own deadline, and
// returns results in the order of targets. Revoke calls on one controller
// share that client's limit of 8 concurrent requests.
func (f *Fleet) Revoke(ctx context.Context, targets []RevokeTarget) []ControllerRevocation {
	out := make([]ControllerRevocation, len(targets))
	f.fanOut(ctx, len(targets), func(ctx context.Context, i int) {
		out[i] = f.revokeTarget(ctx, targets[i])
	})
	return out
}

func (f *Fleet) revokeTarget(ctx context.Context, t RevokeTarget) ControllerRevocation {
	r := ControllerRevocation{Controller: t.Controller, UserID: t.UserID}
	c := f.byName[t.Controller]
	if c == nil {
		r.Err = fmt.Errorf("revoke tokens of %s on %q: %w", t.UserID, t.Controller,
			ErrUnknownController)
		return r
	}
	r.Results, r.Err = c.RevokeTokens(ctx, t.UserID, t.UUIDs)
	if r.Err != nil || !t.EndSessions {
		return r
	}
	r.SessionsErr = c.EndSessions(ctx, t.UserID)
	r.SessionsEnded = r.SessionsErr == nil
	return r
}
