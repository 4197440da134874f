package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack/socketmode"
)

// deliveryKey names what an envelope delivers, so that a redelivery, even
// with a new envelope id and on another replica, maps to the same key: the
// event id for events, the trigger id for interactions and commands.
func deliveryKey(evt socketmode.Event) string {
	var p struct {
		EventID   string `json:"event_id"`
		TriggerID string `json:"trigger_id"`
	}
	if len(evt.Request.Payload) > 0 {
		_ = json.Unmarshal(evt.Request.Payload, &p)
	}
	switch {
	case p.EventID != "":
		return "event:" + p.EventID
	case p.TriggerID != "":
		return "trigger:" + p.TriggerID
	}
	return "envelope:" + evt.Request.EnvelopeID
}

// firstDelivery reports whether this replica is the first to see what evt
// delivers. When Redis cannot answer it returns true with the error: the
// approvals store, not this key, is what prevents a second revocation.
func (b *Bot) firstDelivery(ctx context.Context, evt socketmode.Event) (bool, error) {
	key := b.cfg.KeyPrefix + "seen:" + deliveryKey(evt)
	ok, err := b.rdb.SetNX(ctx, key, b.cfg.ReplicaID, b.cfg.DedupTTL).Result()
	if err != nil {
		return true, fmt.Errorf("mark delivery: %w", err)
	}
	return ok, nil
}
