// Package jenkinstest runs a fake Jenkins controller over real HTTP for
// tests of the jenkins package and of code built on it.
//
// The fake follows what real Jenkins does for the endpoints the bot uses:
// the request pipeline (a literal ';' in the path is 400, Basic auth with
// API tokens or passwords, 401 with WWW-Authenticate, CSRF crumbs for POSTs
// not authenticated by API token, Overall/Read, 403 with Jenkins'
// access-denied headers), /whoAmI, /crumbIssuer with session cookies,
// /user/<id>/api/json (with the full-name fallback), the ApiTokenProperty
// revoke, revokeAll and revokeAllExcept endpoints, renewSessionSeed, and
// /scriptText. It cannot run Groovy: it recognises the bot's scripts by
// their marker line and prints what the real script would print for the
// fake's state; any other script gets a Groovy stack trace with status 200.
//
// Tests add users and tokens, switch on faults per path prefix (500, an
// HTML login page with 200, slowness, a hang, a reset connection, a fixed
// body), read request counters, and inspect state. Restart models what a
// Jenkins restart does to legacy tokens. All methods are safe for
// concurrent use.
package jenkinstest
