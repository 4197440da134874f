// Package approvals enforces the two-person rule for token revocations.
//
// A Request records who asked to revoke which tokens of whom (the Plan) and
// moves through these states, each move being one atomic Lua script on Redis
// that also appends a hash-chained audit event (no event, no move):
//
//	pending ──Approve×Required──▶ approved ──Claim──▶ executing ──Finish──▶ done
//	   │                             ▲                    │  ▲
//	   ├──Deny──▶ denied             └──────Retry─────── failed
//	   ├──Cancel──▶ cancelled                          (Finish with failed)
//	   └──TTL passed (SweepExpired or Approve)──▶ expired
//
// The rules live in the store, not in the Slack buttons: the requester never
// approves, the person being offboarded never requests or approves, each
// approver counts once, an approval names the plan hash it saw, and decided
// requests stay decided. Execution is claimed with an expiring lease, so when
// a replica dies mid-way another one takes over the remaining tokens, and a
// finished execution can never be claimed again.
//
// The Store keeps no state in the process: any number of bot replicas can
// share one Redis, and Slack may deliver a click to any of them.
package approvals
