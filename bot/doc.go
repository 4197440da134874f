// Package bot puts the Jenkins client and the approvals store in front of
// people, over Slack Socket Mode.
//
// The Socket Mode loop only receives, acknowledges and dispatches: every
// envelope is acknowledged at once, then handled on a bounded set of
// goroutines. A redelivered envelope, which Slack may send to any replica, is
// recognised with a short-lived Redis key and handled once. The rules of the
// two-person approval live in the approvals store; the bot turns its refusals
// into words a person reads.
package bot
