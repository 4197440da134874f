// Package slacktest is a fake Slack for end-to-end tests of a Socket Mode bot built on
// slack-go. One loopback httptest server serves the Web API (POST /api/<method>), the
// Socket Mode WebSocket (/link/) and response_url hooks (POST /hooks/<id>).
//
// A test creates a Server with New, seeds users, channels and user groups, points
// slack.New at APIURL with AppToken and BotToken, and then drives the bot with
// envelope builders (SlashCommand, Click, ViewSubmission, AppMention, ...). Every
// builder pushes one envelope to an open socket and returns its envelope id, which
// WaitAck turns into the bot's ack payload. Messages, Ephemerals, Calls and Acks
// expose what the bot did; Problems lists protocol mistakes (unknown or duplicate
// acks, late or oversized acks, unknown Web API methods).
//
// All methods of Server are safe for concurrent use.
package slacktest
