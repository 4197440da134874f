package jenkins

import "time"

// User is a Jenkins user record as the bot sees it.
type User struct {
	ID       string `json:"id"`
	FullName string `json:"fullName"`
	// Email is the explicitly configured Mailer address, or empty.
	Email string `json:"email"`
}

// Token is one API token of a user, as the listing script reports it.
type Token struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
	// Created is nil for legacy tokens migrated from before Jenkins 2.129.
	Created *time.Time `json:"created"`
	Legacy  bool       `json:"legacy"`
	// UseCount and LastUsed are zero when usage statistics are off.
	UseCount int        `json:"useCount"`
	LastUsed *time.Time `json:"lastUsed"`
	// Expires is the expiry date as yyyy-mm-dd, empty when the token never
	// expires or the controller predates token expiry (2.548).
	Expires string `json:"expires"`
	Expired bool   `json:"expired"`
}

// Listing is everything one controller knows about a user's API tokens.
type Listing struct {
	User         User `json:"user"`
	StatsEnabled bool `json:"statsEnabled"`
	// HasLegacySecret is true while the legacy token seed is still stored,
	// even when no legacy entry is listed: Jenkins brings that token back on
	// the next restart.
	HasLegacySecret bool    `json:"hasLegacySecret"`
	Tokens          []Token `json:"tokens"`
}

// Outcome says what happened to one token after a revocation was verified.
type Outcome string

// The outcomes of revoking one token, decided by listing again afterwards.
const (
	// Revoked means the revoke call succeeded and the token is gone.
	Revoked Outcome = "revoked"
	// AlreadyGone means the token was not listed before the revoke call.
	AlreadyGone Outcome = "already_gone"
	// StillPresent means the token, or the legacy secret behind it, is
	// still there after the revoke call.
	StillPresent Outcome = "still_present"
	// Failed means the revoke call or the verification failed.
	Failed Outcome = "error"
)

// TokenResult is the verified result for one token.
type TokenResult struct {
	UUID    string  `json:"uuid"`
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	// Detail explains a Failed or StillPresent outcome in words.
	Detail string `json:"detail,omitempty"`
	// Err is the error behind a Failed outcome (a failed revoke call or a
	// failed second listing), for callers that test it with errors.Is;
	// nil for every other outcome. It is not serialized.
	Err error `json:"-"`
}
