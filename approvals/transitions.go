package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// NewRequest is what Create needs to open a request.
type NewRequest struct {
	// Requester is a Slack user id, or a marker such as "bot".
	Requester string
	Target    Target
	Plan      Plan
	DryRun    bool
	// TTL is how long the request stays pending; zero means Options.DefaultTTL.
	TTL time.Duration
	// Required approvers; zero means Options.Required.
	Required int
}

// Create stores a new pending request with a fresh ID, indexes it by target
// label and Slack user, and audits it. It returns ErrInvalid when the
// requester or target label is empty, and ErrTargetCannotAct when the
// requester is the target's Slack user.
func (s *Store) Create(ctx context.Context, nr NewRequest) (*Request, error) {
	if nr.Requester == "" || nr.Target.Label == "" {
		return nil, fmt.Errorf("create request: %w: requester and target label required",
			ErrInvalid)
	}
	nr = s.createDefaults(nr)
	id := uuid.NewString()
	now := s.opts.Now()
	plan, _ := json.Marshal(nr.Plan)
	hash := nr.Plan.Hash()
	expires := now.Add(nr.TTL).UnixMilli()
	details, _ := json.Marshal(map[string]any{
		"required": nr.Required, "dry_run": nr.DryRun, "expires": stamp(now.Add(nr.TTL)),
	})

	userIx := nr.Target.SlackUser
	if userIx == "" {
		userIx = nr.Target.Label
	}
	keys := append(s.baseKeys(s.reqKey(id)), s.indexKey(nr.Target.Label), s.indexKey(userIx))
	args := []any{id, nr.Target.Label, nr.Target.SlackUser, hash, expires, string(details),
		"id", id, "requester", nr.Requester, "t_label", nr.Target.Label,
		"t_user", nr.Target.SlackUser, "t_email", nr.Target.Email,
		"ix_label", indexName(nr.Target.Label), "ix_user", indexName(nr.Target.SlackUser),
		"plan", string(plan), "plan_hash", hash, "created", now.UnixMilli(),
		"expires", expires, "required", nr.Required, "state", string(Pending),
		"dry_run", boolInt(nr.DryRun), "attempt", 0,
	}
	r, err := s.transition(ctx, scriptCreate, id, nr.Requester, keys, args...)
	if err != nil {
		return nil, fmt.Errorf("create request for %s: %w", nr.Target.Label, err)
	}
	return r, nil
}

func (s *Store) createDefaults(nr NewRequest) NewRequest {
	if nr.TTL <= 0 {
		nr.TTL = s.opts.DefaultTTL
	}
	if nr.Required <= 0 {
		nr.Required = s.opts.Required
	}
	return nr
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Approve records approver's consent to the plan whose hash they saw. The
// request becomes Approved when Required distinct approvers agreed; until
// then it stays Pending with the approval recorded (and audited). Whether
// approver may approve at all is the caller's decision.
//
// It returns ErrNotFound; ErrExpired when the request expired, moving a
// pending request past its expiry to Expired in the same step;
// ErrAlreadyDecided when it is no longer pending; ErrTargetCannotAct for the
// target; ErrSelfApproval for the requester; ErrAlreadyApproved when
// approver already counted; ErrPlanChanged when planHash is not the current
// plan's.
func (s *Store) Approve(ctx context.Context, id, approver, planHash string) (*Request, error) {
	r, err := s.transition(ctx, scriptApprove, id, approver, nil, planHash)
	return r, wrap("approve request", id, err)
}

// Deny refuses a pending request for a non-empty reason. It returns
// ErrReasonRequired, ErrNotFound, ErrExpired, ErrAlreadyDecided,
// ErrTargetCannotAct for the target and ErrSelfApproval for the requester
// (who cancels instead).
func (s *Store) Deny(ctx context.Context, id, actor, reason string) (*Request, error) {
	if reason == "" {
		return nil, wrap("deny request", id, ErrReasonRequired)
	}
	details, _ := json.Marshal(map[string]string{"reason": reason})
	r, err := s.transition(ctx, scriptDeny, id, actor, nil, reason, string(details))
	return r, wrap("deny request", id, err)
}

// Cancel withdraws a pending request. It returns ErrNotRequester unless actor
// is the requester, and ErrNotFound, ErrExpired or ErrAlreadyDecided.
func (s *Store) Cancel(ctx context.Context, id, actor string) (*Request, error) {
	r, err := s.transition(ctx, scriptCancel, id, actor, nil)
	return r, wrap("cancel request", id, err)
}

// UpdatePlan replaces the plan of a pending request and voids every approval
// given so far (audited with the old hash and the number voided). It
// returns ErrNotRequester unless actor is the requester, and ErrNotFound,
// ErrExpired or ErrAlreadyDecided.
func (s *Store) UpdatePlan(ctx context.Context, id, actor string, plan Plan) (*Request, error) {
	b, _ := json.Marshal(plan)
	r, err := s.transition(ctx, scriptUpdatePlan, id, actor, nil, string(b), plan.Hash())
	return r, wrap("update plan of request", id, err)
}

// Claim gives owner the right to execute an approved request for lease,
// moving it to Executing and starting an attempt. A request still Executing
// whose lease has run out is taken over: owner changes, the attempt does not,
// and the takeover is audited; the new owner finishes the remaining tokens
// (see Request.Results). It returns ErrAlreadyClaimed while another lease
// runs, ErrInvalid for a lease that is not positive, ErrNotApproved for a
// pending request, ErrAlreadyDecided for a
// finished or refused one (a finished execution is never claimed again), and
// ErrNotFound.
func (s *Store) Claim(ctx context.Context, id, owner string,
	lease time.Duration) (*Request, error) {
	if lease <= 0 {
		return nil, wrap("claim request", id, errNoLease)
	}
	r, err := s.transition(ctx, scriptClaim, id, owner, nil, lease.Milliseconds())
	return r, wrap("claim request", id, err)
}

// Renew extends owner's lease to now plus lease. It is not audited. It
// returns ErrInvalid for a lease that is not positive, ErrNotOwner when
// owner does not hold the claim (someone took over, or the execution
// finished), and ErrNotFound.
func (s *Store) Renew(ctx context.Context, id, owner string, lease time.Duration) error {
	if lease <= 0 {
		return wrap("renew claim on request", id, errNoLease)
	}
	_, err := s.transition(ctx, scriptRenew, id, owner, nil, lease.Milliseconds())
	return wrap("renew claim on request", id, err)
}

// Release ends owner's lease now, for a graceful shutdown: the request stays
// Executing and another replica may Claim it at once. It returns ErrNotOwner
// and ErrNotFound.
func (s *Store) Release(ctx context.Context, id, owner string) error {
	_, err := s.transition(ctx, scriptRelease, id, owner, nil)
	return wrap("release claim on request", id, err)
}

// RecordResults saves the per-token results so far, replacing earlier ones,
// so that a replica taking over knows what is left. It is not audited (Finish
// is). It returns ErrNotOwner and ErrNotFound.
func (s *Store) RecordResults(ctx context.Context, id, owner string,
	results []TokenResult) error {
	b, _ := json.Marshal(results)
	_, err := s.transition(ctx, scriptRecord, id, owner, nil, string(b))
	return wrap("record results of request", id, err)
}

// Finish ends owner's execution with the final per-token results: Done, or
// Failed when failed is true (an approver may Retry a failed request). The
// audit event carries the results. It returns ErrNotOwner (also for an
// execution already finished) and ErrNotFound.
func (s *Store) Finish(ctx context.Context, id, owner string, results []TokenResult,
	failed bool) (*Request, error) {
	to := Done
	if failed {
		to = Failed
	}
	b, _ := json.Marshal(results)
	details, _ := json.Marshal(map[string]any{"results": json.RawMessage(b)})
	r, err := s.transition(ctx, scriptFinish, id, owner, nil, string(b), string(to),
		string(details))
	return r, wrap("finish request", id, err)
}

// Retry moves a failed request back to Approved so that it can be claimed
// for a new attempt. actor must be an approver: it returns ErrSelfApproval
// for the requester, ErrTargetCannotAct for the target, ErrNotFailed unless
// the request failed, and ErrNotFound.
func (s *Store) Retry(ctx context.Context, id, actor string) (*Request, error) {
	r, err := s.transition(ctx, scriptRetry, id, actor, nil)
	return r, wrap("retry request", id, err)
}

var errNoLease = fmt.Errorf("%w: lease must be positive", ErrInvalid)

func wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", op, id, err)
}

// IsRefusal reports whether err is one of the store's refusals rather than a
// failure to reach or use Redis.
func IsRefusal(err error) bool {
	for _, e := range codeErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.Is(err, ErrInvalid)
}
