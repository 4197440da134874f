package approvals

import "errors"

// Sentinel errors for the refusals the store decides. Each method's doc says
// which of them it returns; callers test with errors.Is. Any other error is a
// failure to reach or use Redis, never a refusal.
var (
	ErrNotFound        = errors.New("request not found")
	ErrExists          = errors.New("request already exists")
	ErrInvalid         = errors.New("invalid request")
	ErrExpired         = errors.New("request expired")
	ErrAlreadyDecided  = errors.New("request already decided")
	ErrSelfApproval    = errors.New("requester cannot decide own request")
	ErrTargetCannotAct = errors.New("target of the request cannot act on it")
	ErrAlreadyApproved = errors.New("approver already approved")
	ErrPlanChanged     = errors.New("plan changed since it was shown")
	ErrReasonRequired  = errors.New("deny reason required")
	ErrNotRequester    = errors.New("only the requester can do this")
	ErrNotApproved     = errors.New("request not approved yet")
	ErrAlreadyClaimed  = errors.New("execution already claimed")
	ErrNotOwner        = errors.New("caller does not hold the execution claim")
	ErrNotFailed       = errors.New("request has not failed")
)

// codeErrors maps the reply codes of the Lua scripts to sentinels.
var codeErrors = map[string]error{
	"NOT_FOUND":        ErrNotFound,
	"EXISTS":           ErrExists,
	"EXPIRED":          ErrExpired,
	"DECIDED":          ErrAlreadyDecided,
	"SELF":             ErrSelfApproval,
	"TARGET":           ErrTargetCannotAct,
	"ALREADY_APPROVED": ErrAlreadyApproved,
	"PLAN":             ErrPlanChanged,
	"REASON":           ErrReasonRequired,
	"NOT_REQUESTER":    ErrNotRequester,
	"NOT_APPROVED":     ErrNotApproved,
	"CLAIMED":          ErrAlreadyClaimed,
	"NOT_OWNER":        ErrNotOwner,
	"NOT_FAILED":       ErrNotFailed,
}
