package approvals

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Get returns the request with id, or ErrNotFound (also once retention
// dropped it).
func (s *Store) Get(ctx context.Context, id string) (*Request, error) {
	m, err := s.rdb.HGetAll(ctx, s.reqKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("get request %s: %w", id, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("get request %s: %w", id, ErrNotFound)
	}
	return fieldsToRequest(m)
}

// Pending returns the pending requests, oldest first, in one round trip.
// Requests past their expiry are included until SweepExpired (or an
// Approve) expires them; compare Expires with the clock.
func (s *Store) Pending(ctx context.Context) ([]*Request, error) {
	list, err := s.list(ctx, s.key("pending"), "z")
	if err != nil {
		return nil, fmt.Errorf("list pending requests: %w", err)
	}
	return list, nil
}

// PendingCount returns how many requests are pending, without reading them.
func (s *Store) PendingCount(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.key("pending")).Result()
	if err != nil {
		return 0, fmt.Errorf("count pending requests: %w", err)
	}
	return n, nil
}

// Stalled returns the requests that need an executor: Approved ones nobody
// claimed (the approving replica may have died before claiming) and
// Executing ones whose lease has run out. Claim them to take over; Claim
// decides atomically, so several replicas may call Stalled at once.
func (s *Store) Stalled(ctx context.Context) ([]*Request, error) {
	list, err := s.list(ctx, s.key("active"), "z")
	if err != nil {
		return nil, fmt.Errorf("list stalled requests: %w", err)
	}
	now := s.opts.Now()
	stalled := list[:0]
	for _, r := range list {
		lapsed := r.State == Executing && r.Claim != nil && !r.Claim.Until.After(now)
		if r.State == Approved || lapsed {
			stalled = append(stalled, r)
		}
	}
	return stalled, nil
}

// ByTarget returns every stored request, in any state, whose target label or
// Slack user is who (case-insensitive), oldest first.
func (s *Store) ByTarget(ctx context.Context, who string) ([]*Request, error) {
	list, err := s.list(ctx, s.indexKey(who), "s")
	if err != nil {
		return nil, fmt.Errorf("list requests for %s: %w", who, err)
	}
	return list, nil
}

func (s *Store) list(ctx context.Context, index, kind string) ([]*Request, error) {
	res, err := scriptList.Run(ctx, s.rdb, []string{index}, kind, s.tag).Result()
	if err != nil {
		return nil, err
	}
	list, err := decodeList(res)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *Request) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return list, nil
}

// SetMessages replaces the Slack message references of a request, in any
// state. It is not a transition and is not audited. It returns ErrNotFound.
func (s *Store) SetMessages(ctx context.Context, id string, refs []MessageRef) error {
	b, _ := json.Marshal(refs)
	code, err := scriptSetMessages.Run(ctx, s.rdb, []string{s.reqKey(id)}, string(b)).Text()
	if err != nil {
		return fmt.Errorf("set messages of request %s: %w", id, err)
	}
	if code != "OK" {
		return fmt.Errorf("set messages of request %s: %w", id, ErrNotFound)
	}
	return nil
}
