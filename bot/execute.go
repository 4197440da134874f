package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// sessionsUUID stands for "end web sessions" among a request's results.
const sessionsUUID = "web-sessions"

// execute claims an approved request and revokes its tokens, unless another
// replica holds the claim. A claim whose lease ran out is taken over, and
// only the tokens without a final result are done again.
func (b *Bot) execute(ctx context.Context, id string) {
	log := b.log.With("request_id", id)
	req, err := b.store.Claim(ctx, id, b.cfg.ReplicaID, b.cfg.Lease)
	if errors.Is(err, approvals.ErrAlreadyClaimed) {
		log.Debug("execution claimed elsewhere")
		return
	}
	if err != nil {
		log.Error("claim execution", "err", err)
		return
	}
	log.Info("executing", "attempt", req.Claim.Attempt, "dry_run", req.DryRun)
	b.refresh(ctx, req)

	// Handlers run in a context that outlives a shutdown signal by a grace
	// period; if the work is stopped, the lease goes back for a takeover.
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	stopRenew := b.keepLease(work, cancel, id)
	results := b.carryOut(work, req)
	stopRenew()
	if work.Err() != nil {
		b.handBack(context.WithoutCancel(ctx), id, results)
		return
	}

	failed := anyFailed(results, req.DryRun)
	done, err := b.store.Finish(work, id, b.cfg.ReplicaID, results, failed)
	if err != nil {
		log.Error("finish execution", "err", err)
		return
	}
	for _, r := range done.Results {
		b.m.revocation(r.Controller, r.Outcome)
	}
	b.logResults(log, done)
	b.recordOnListing(ctx, done)
	b.refresh(ctx, done)
	b.summarize(ctx, done)
}

// handBack saves the results that need no retry and gives the lease back,
// so that another replica finishes the execution.
func (b *Bot) handBack(ctx context.Context, id string, results []approvals.TokenResult) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var keep []approvals.TokenResult
	for _, r := range finalResults(results) {
		keep = append(keep, r)
	}
	if err := b.store.RecordResults(ctx, id, b.cfg.ReplicaID, keep); err != nil {
		b.log.Error("record partial results", "request_id", id, "err", err)
	}
	if err := b.store.Release(ctx, id, b.cfg.ReplicaID); err != nil {
		b.log.Error("release execution lease", "request_id", id, "err", err)
		return
	}
	b.log.Info("execution handed back", "request_id", id, "kept_results", len(keep))
}

// keepLease renews the claim while the work runs and cancels the work if
// the claim is lost.
func (b *Bot) keepLease(ctx context.Context, cancel context.CancelFunc, id string) func() {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(b.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := b.store.Renew(ctx, id, b.cfg.ReplicaID, b.cfg.Lease); err != nil {
					b.log.Error("renew execution lease", "request_id", id, "err", err)
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(stop) }
}

// carryOut revokes (or, in a dry run, only checks) every token that has no
// final result yet, and returns the results of all tokens.
//
// TODO: record each controller's results as they arrive; after a crash the
// replica taking over re-lists and reports the tokens the dead replica
// revoked as "already gone" rather than "revoked".
func (b *Bot) carryOut(ctx context.Context, req *approvals.Request) []approvals.TokenResult {
	kept := finalResults(req.Results)
	targets := remaining(req, kept)
	var fresh []approvals.TokenResult
	if req.DryRun {
		fresh = b.dryRun(ctx, req, targets)
	} else {
		fresh = toResults(req, b.fleet.Revoke(ctx, targets))
	}
	out := make([]approvals.TokenResult, 0, len(kept)+len(fresh))
	for _, r := range kept {
		out = append(out, r)
	}
	return append(out, fresh...)
}

func resultID(controller, uuid string) string { return controller + "\x00" + uuid }

// finalResults keeps results that need no retry: revoked, already gone, or
// sessions ended.
func finalResults(rs []approvals.TokenResult) map[string]approvals.TokenResult {
	out := map[string]approvals.TokenResult{}
	for _, r := range rs {
		if r.Outcome == string(jenkins.Revoked) || r.Outcome == string(jenkins.AlreadyGone) {
			out[resultID(r.Controller, r.UUID)] = r
		}
	}
	return out
}

func remaining(req *approvals.Request,
	kept map[string]approvals.TokenResult) []jenkins.RevokeTarget {
	var out []jenkins.RevokeTarget
	for _, c := range req.Plan.Controllers {
		t := jenkins.RevokeTarget{Controller: c.Controller, UserID: c.JenkinsUser}
		for _, tok := range c.Tokens {
			if _, ok := kept[resultID(c.Controller, tok.UUID)]; !ok {
				t.UUIDs = append(t.UUIDs, tok.UUID)
			}
		}
		_, sessionsDone := kept[resultID(c.Controller, sessionsUUID)]
		t.EndSessions = req.Plan.EndSessions && !sessionsDone
		if len(t.UUIDs) > 0 || t.EndSessions {
			out = append(out, t)
		}
	}
	return out
}

// toResults flattens per-controller revocations into per-token results.
func toResults(req *approvals.Request,
	revs []jenkins.ControllerRevocation) []approvals.TokenResult {
	names := plannedNames(req)
	var out []approvals.TokenResult
	for _, rev := range revs {
		base := approvals.TokenResult{Controller: rev.Controller, JenkinsUser: rev.UserID}
		if rev.Err != nil {
			for _, uuid := range plannedUUIDs(req, rev.Controller) {
				r := base
				r.UUID, r.Name = uuid, names[resultID(rev.Controller, uuid)]
				r.Outcome, r.Detail = string(jenkins.Failed), jenkinsProblem(rev.Err)
				out = append(out, r)
			}
			continue
		}
		for _, tr := range rev.Results {
			r := base
			r.UUID, r.Name, r.Outcome, r.Detail = tr.UUID, tr.Name, string(tr.Outcome), tr.Detail
			if tr.Err != nil {
				r.Detail = jenkinsProblem(tr.Err)
			}
			out = append(out, r)
		}
		if req.Plan.EndSessions {
			out = append(out, sessionResult(base, rev))
		}
	}
	return out
}

func sessionResult(base approvals.TokenResult,
	rev jenkins.ControllerRevocation) approvals.TokenResult {
	r := base
	r.UUID, r.Name = sessionsUUID, "web sessions"
	switch {
	case rev.SessionsEnded:
		r.Outcome, r.Detail = string(jenkins.Revoked), "all web sessions ended"
	case errors.Is(rev.SessionsErr, jenkins.ErrSessionsDisabled):
		r.Outcome = string(jenkins.Failed)
		r.Detail = "this controller has the session-ending feature switched off"
	case rev.SessionsErr != nil:
		r.Outcome, r.Detail = string(jenkins.Failed), jenkinsProblem(rev.SessionsErr)
	}
	return r
}

func plannedNames(req *approvals.Request) map[string]string {
	out := map[string]string{}
	for _, c := range req.Plan.Controllers {
		for _, t := range c.Tokens {
			out[resultID(c.Controller, t.UUID)] = t.Name
		}
	}
	return out
}

func plannedUUIDs(req *approvals.Request, controller string) []string {
	for _, c := range req.Plan.Controllers {
		if c.Controller == controller {
			uuids := make([]string, len(c.Tokens))
			for i, t := range c.Tokens {
				uuids[i] = t.UUID
			}
			return uuids
		}
	}
	return nil
}

// dryRun lists the tokens again instead of revoking them: each planned
// token is reported as still present (it would be revoked) or already gone.
func (b *Bot) dryRun(ctx context.Context, req *approvals.Request,
	targets []jenkins.RevokeTarget) []approvals.TokenResult {
	ids := map[string]string{}
	for _, t := range targets {
		ids[t.Controller] = t.UserID
	}
	present := map[string]bool{}
	listErr := map[string]error{}
	for _, cl := range b.fleet.ListTokensFor(ctx, ids) {
		listErr[cl.Controller] = cl.Err
		for _, t := range cl.Listing.Tokens {
			present[resultID(cl.Controller, t.UUID)] = true
		}
	}
	names := plannedNames(req)
	var out []approvals.TokenResult
	for _, t := range targets {
		for _, uuid := range t.UUIDs {
			r := approvals.TokenResult{Controller: t.Controller, JenkinsUser: t.UserID,
				UUID: uuid, Name: names[resultID(t.Controller, uuid)]}
			switch err := listErr[t.Controller]; {
			case err != nil && !errors.Is(err, jenkins.ErrUserNotFound):
				r.Outcome, r.Detail = string(jenkins.Failed), jenkinsProblem(err)
			case present[resultID(t.Controller, uuid)]:
				r.Outcome, r.Detail = string(jenkins.StillPresent), "dry run: not revoked"
			default:
				r.Outcome = string(jenkins.AlreadyGone)
			}
			out = append(out, r)
		}
	}
	return out
}

// anyFailed reports whether an execution left work to retry. In a dry run
// nothing is revoked on purpose, so only errors count.
func anyFailed(rs []approvals.TokenResult, dryRun bool) bool {
	for _, r := range rs {
		switch {
		case r.Outcome == string(jenkins.Failed):
			return true
		case r.Outcome == string(jenkins.StillPresent) && !dryRun:
			return true
		}
	}
	return false
}

func (b *Bot) logResults(log *slog.Logger, req *approvals.Request) {
	for _, r := range req.Results {
		msg := "revoked"
		if r.Outcome != string(jenkins.Revoked) {
			msg = "revocation result"
		}
		log.Info(msg, "controller", r.Controller, "jenkins_user", r.JenkinsUser,
			"token_uuid", r.UUID, "outcome", r.Outcome, "dry_run", req.DryRun)
	}
	ok := 0
	for _, r := range req.Results {
		if r.Outcome == string(jenkins.Revoked) || r.Outcome == string(jenkins.AlreadyGone) {
			ok++
		}
	}
	log.Info("verified", "state", string(req.State), "gone", ok, "results", len(req.Results))
}

// summaryText is the short line posted in the thread after an execution.
func summaryText(req *approvals.Request) string {
	counts := map[string]int{}
	for _, r := range req.Results {
		counts[r.Outcome]++
	}
	s := fmt.Sprintf("Revocation for %s finished: %d revoked and verified, %d already "+
		"gone, %d still present, %d errors.", esc(req.Target.Label),
		counts[string(jenkins.Revoked)], counts[string(jenkins.AlreadyGone)],
		counts[string(jenkins.StillPresent)], counts[string(jenkins.Failed)])
	if req.DryRun {
		s = "Dry run: nothing was revoked. " + s
	}
	return s
}
