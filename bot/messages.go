package bot

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/jenkins-tokens/jenkins-tokens-bot/approvals"
	"github.com/jenkins-tokens/jenkins-tokens-bot/jenkins"
)

// listingRef reads a listing message reference: listing id and page.
func listingRef(ref approvals.MessageRef) (string, int, bool) {
	rest, ok := strings.CutPrefix(ref.Kind, refListing+"/")
	if !ok {
		return "", 0, false
	}
	id, page, ok := strings.Cut(rest, "/")
	n, err := strconv.Atoi(page)
	return id, n, ok && err == nil
}

// maxRefreshes bounds how often one refresh renders a request that keeps
// changing under it.
const maxRefreshes = 8

// refresh brings every Slack message of a request up to date with its
// state. Any replica may call it, with a snapshot that may already be
// stale: another replica may have moved the request on and updated the
// messages in between. So after each update it reads the request again
// and renders once more when it changed; the last replica to update then
// always renders the stored state, and a done request never keeps its
// "revoking…" line.
func (b *Bot) refresh(ctx context.Context, req *approvals.Request) {
	for range maxRefreshes {
		b.render(ctx, req)
		cur, err := b.store.Get(ctx, req.ID)
		if err != nil || sameView(cur, req) {
			return
		}
		req = cur
	}
}

// sameView reports whether two snapshots of a request render alike.
func sameView(a, b *approvals.Request) bool {
	return a.State == b.State && slices.Equal(a.Results, b.Results) &&
		len(a.Approvals) == len(b.Approvals) && len(a.Messages) == len(b.Messages) &&
		(a.Denial == nil) == (b.Denial == nil)
}

// render updates every Slack message of req as req says.
func (b *Bot) render(ctx context.Context, req *approvals.Request) {
	var snap *snapshot
	for _, ref := range req.Messages {
		if id, _, ok := listingRef(ref); ok {
			snap, _ = b.snaps.load(ctx, id)
			break
		}
	}
	for _, ref := range req.Messages {
		if ref.Kind == refApproval {
			b.update(ctx, ref, approvalFallback(req), approvalBlocks(req, snap, b.approvalView(req)))
		}
	}
	if snap == nil || len(req.Results) == 0 {
		return
	}
	pages := listingMessages(snap, listingView{Now: b.now(), DryRun: req.DryRun,
		Results: snap.Results})
	for _, ref := range req.Messages {
		if _, page, ok := listingRef(ref); ok && page < len(pages) {
			b.update(ctx, ref, listingFallback(snap, page, len(pages)), pages[page])
		}
	}
}

func (b *Bot) update(ctx context.Context, ref approvals.MessageRef, text string,
	blocks []slack.Block) {
	_, _, _, err := b.api.UpdateMessageContext(ctx, ref.Channel, ref.TS,
		slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		b.log.Error("update message", "channel", ref.Channel, "ts", ref.TS, "err", err)
	}
}

// recordOnListing adds a finished request's results to its listing, so
// that the listing shows every result so far.
func (b *Bot) recordOnListing(ctx context.Context, req *approvals.Request) {
	for _, ref := range req.Messages {
		id, _, ok := listingRef(ref)
		if !ok {
			continue
		}
		snap, err := b.snaps.load(ctx, id)
		if err != nil {
			b.log.Info("listing not updated", "request_id", req.ID, "err", err)
			return
		}
		if snap.Results == nil {
			snap.Results = map[string]jenkins.TokenResult{}
		}
		for _, r := range req.Results {
			snap.Results[resultKey(r.Controller, r.UUID)] = jenkins.TokenResult{
				UUID: r.UUID, Name: r.Name, Outcome: jenkins.Outcome(r.Outcome), Detail: r.Detail}
		}
		if err := b.snaps.save(ctx, snap); err != nil {
			b.log.Error("save listing results", "request_id", req.ID, "err", err)
		}
		return
	}
}

// summarize posts a short line in the request's thread.
func (b *Bot) summarize(ctx context.Context, req *approvals.Request) {
	for _, ref := range req.Messages {
		if ref.Kind != refApproval {
			continue
		}
		thread := ref.ThreadTS
		if thread == "" {
			thread = ref.TS
		}
		_, _, err := b.api.PostMessageContext(ctx, ref.Channel,
			slack.MsgOptionText(summaryText(req), false), slack.MsgOptionTS(thread))
		if err != nil {
			b.log.Error("post summary", "request_id", req.ID, "err", err)
		}
		return
	}
}
