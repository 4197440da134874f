package approvals

import (
	"context"
	"fmt"
)

// SweepExpired expires up to 100 pending requests whose TTL has passed (each
// an audited transition, actor "system") and drops up to 100 decided
// requests whose retention has passed, with their index entries. It does so
// only while owner holds the sweep lease (SET NX PX for Options.SweepLease,
// renewed when owner already holds it); when another owner holds it, it
// returns nil and no error. owner should be stable per replica. It returns
// the requests it expired so the caller can update their Slack messages.
// Lease, expiry and cleanup are one atomic script.
func (s *Store) SweepExpired(ctx context.Context, owner string) ([]*Request, error) {
	keys := s.baseKeys(s.key("sweep"))
	args := append(s.baseArgs(owner), s.opts.SweepLease.Milliseconds(), s.tag, sweepBatch)
	res, err := scriptSweep.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("sweep expired requests: %w", err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("sweep expired requests: %w", errBadReply)
	}
	if code, _ := res[0].(string); code != "OK" {
		return nil, nil
	}
	list, err := decodeList(res[1])
	if err != nil {
		return nil, fmt.Errorf("sweep expired requests: %w", err)
	}
	return list, nil
}

func decodeList(v any) ([]*Request, error) {
	items, _ := v.([]any)
	out := make([]*Request, 0, len(items))
	for _, it := range items {
		r, err := decodeRequest(it)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
