package approvals

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// State is where a Request stands in its life.
type State string

// The states of a Request. Pending, Approved, Executing and Failed can still
// change; Done, Denied, Cancelled and Expired are final.
const (
	Pending   State = "pending"
	Approved  State = "approved"
	Executing State = "executing"
	Done      State = "done"
	Failed    State = "failed"
	Denied    State = "denied"
	Cancelled State = "cancelled"
	Expired   State = "expired"
)

// Target is the person being offboarded.
type Target struct {
	// Label is what the requester typed, e.g. "alice".
	Label string `json:"label"`
	// SlackUser is the target's Slack user id, empty when unknown.
	SlackUser string `json:"slack_user"`
	Email     string `json:"email,omitempty"`
}

// PlannedToken is one API token the plan revokes.
type PlannedToken struct {
	UUID   string `json:"uuid"`
	Name   string `json:"name"`
	Legacy bool   `json:"legacy"`
}

// ControllerPlan lists the tokens to revoke for one Jenkins user on one
// controller.
type ControllerPlan struct {
	Controller  string         `json:"controller"`
	JenkinsUser string         `json:"jenkins_user"`
	Tokens      []PlannedToken `json:"tokens"`
}

// Plan is exactly what an approval approves.
type Plan struct {
	Controllers []ControllerPlan `json:"controllers"`
	EndSessions bool             `json:"end_sessions"`
}

// Hash returns the hex sha256 of a canonical encoding of p: the order of
// controllers and of tokens does not change it, any other difference does.
func (p Plan) Hash() string {
	canon := Plan{EndSessions: p.EndSessions}
	for _, c := range p.Controllers {
		c.Tokens = slices.Clone(c.Tokens)
		slices.SortFunc(c.Tokens, compareTokens)
		if c.Tokens == nil {
			c.Tokens = []PlannedToken{}
		}
		canon.Controllers = append(canon.Controllers, c)
	}
	slices.SortFunc(canon.Controllers, func(a, b ControllerPlan) int {
		return cmp.Or(cmp.Compare(a.Controller, b.Controller),
			cmp.Compare(a.JenkinsUser, b.JenkinsUser),
			slices.CompareFunc(a.Tokens, b.Tokens, compareTokens))
	})
	if canon.Controllers == nil {
		canon.Controllers = []ControllerPlan{}
	}
	b, _ := json.Marshal(canon) // cannot fail: plain strings and bools
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func compareTokens(a, b PlannedToken) int {
	return cmp.Or(cmp.Compare(a.UUID, b.UUID), cmp.Compare(a.Name, b.Name),
		cmp.Compare(boolInt(a.Legacy), boolInt(b.Legacy)))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Approval is one approver's consent.
type Approval struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Denial records who refused a request and why.
type Denial struct {
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Cancellation records the requester withdrawing a request.
type Cancellation struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Claim is the lease of the replica executing a request.
type Claim struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
	// Attempt counts executions: 1 for the first, one more per Retry.
	Attempt int `json:"attempt"`
}

// TokenResult is the verified outcome for one token. Outcome holds the
// jenkins package's outcome strings: "revoked", "already_gone",
// "still_present" or "error".
type TokenResult struct {
	Controller  string `json:"controller"`
	JenkinsUser string `json:"jenkins_user"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Outcome     string `json:"outcome"`
	Detail      string `json:"detail,omitempty"`
}

// MessageRef points at a Slack message about a request, so that any
// replica can update it.
type MessageRef struct {
	Kind     string `json:"kind"`
	Channel  string `json:"channel"`
	TS       string `json:"ts"`
	ThreadTS string `json:"thread_ts,omitempty"`
}

// Request is a snapshot of one revocation request as stored. Changing it
// changes nothing in the store.
type Request struct {
	ID string
	// Requester is a Slack user id, or a marker such as "bot".
	Requester string
	Target    Target
	Plan      Plan
	PlanHash  string
	Created   time.Time
	// Expires is when a pending request expires. A request past it may still
	// read as Pending until SweepExpired or an Approve moves it.
	Expires time.Time
	// Decided is when the request reached a final or failed state.
	Decided   time.Time
	Required  int
	State     State
	Approvals []Approval
	Denial    *Denial
	Cancelled *Cancellation
	Claim     *Claim
	Results   []TokenResult
	DryRun    bool
	Messages  []MessageRef
}
