// Package jenkins lists and revokes a user's API tokens on Jenkins
// controllers.
//
// Jenkins offers no REST listing of another user's tokens, so listing runs
// one fixed Groovy script through the Script Console (POST /scriptText).
// Revocation uses Jenkins' own endpoint, one token at a time, and is always
// verified by listing again: revoke answers 200 even for an unknown uuid.
//
// The package does not log. It returns errors, and the caller decides.
package jenkins
