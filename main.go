// Command jenkins-tokens-bot is a Slack bot that lists a person's Jenkins
// API tokens on every controller and revokes them after a second person
// approves.
//
// With no arguments it runs the bot. "check" validates the configuration
// and every connection. "audit export" writes the audit trail as JSON lines
// and verifies its hash chain.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := notifyContext()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jenkins-tokens-bot:", err)
		os.Exit(1)
	}
}

// notifyContext is cancelled by SIGTERM or SIGINT: the bot then stops taking
// envelopes, lets running work finish, and exits.
func notifyContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}
