package bot

import (
	"context"
	"errors"
	"time"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
)

// sweepLoop expires pending requests past their deadline and updates their
// messages. Every replica runs it; the store lets one sweep at a time.
func (b *Bot) sweepLoop(ctx, work context.Context) {
	t := time.NewTicker(b.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.sweep(work)
		}
	}
}

// sweep runs one expiry pass.
func (b *Bot) sweep(ctx context.Context) {
	reqs, err := b.store.SweepExpired(ctx, b.cfg.ReplicaID)
	if err != nil && !errors.Is(err, context.Canceled) {
		b.log.Error("sweep expired requests", "err", err)
		return
	}
	for _, req := range reqs {
		b.log.Info("expired", "request_id", req.ID, "target", req.Target.Label)
		b.m.approval("expired")
		b.refresh(ctx, req)
	}
	b.takeOver(ctx)
	if n, err := b.store.PendingCount(ctx); err == nil {
		b.m.setPending(int(n))
	}
}

// takeOver finishes executions whose replica stopped renewing its lease.
func (b *Bot) takeOver(ctx context.Context) {
	reqs, err := b.store.Stalled(ctx)
	if err != nil {
		b.log.Error("find stalled executions", "err", err)
		return
	}
	for _, req := range reqs {
		if req.State == approvals.Approved || req.State == approvals.Executing {
			b.execute(ctx, req.ID)
		}
	}
}
