package approvals

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// followBatch bounds the events one Follow call returns.
const followBatch = 50

// Follow returns audit events that the consumer group has not yet handed
// out, each to exactly one consumer of the group, blocking up to block
// when there are none. Events a consumer took but never acknowledged with
// AckFollowed are handed to another consumer once they have been idle for
// reclaim, so an event is not lost when a replica dies. The group starts
// at the end of the trail: events from before its first use are not
// returned. Follow returns no events and no error when block passes.
func (s *Store) Follow(ctx context.Context, group, consumer string, block,
	reclaim time.Duration) ([]Event, error) {
	if err := s.ensureGroup(ctx, group); err != nil {
		return nil, err
	}
	msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.key("audit"), Group: group, Consumer: consumer,
		MinIdle: reclaim, Start: "0-0", Count: followBatch,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("reclaim audit events: %w", err)
	}
	if len(msgs) == 0 {
		msgs, err = s.readGroup(ctx, group, consumer, block)
		if err != nil {
			return nil, err
		}
	}
	events := make([]Event, len(msgs))
	for i, m := range msgs {
		events[i], _ = decodeEvent(m)
	}
	return events, nil
}

func (s *Store) readGroup(ctx context.Context, group, consumer string,
	block time.Duration) ([]redis.XMessage, error) {
	streams, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{s.key("audit"), ">"},
		Count: followBatch, Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit events: %w", err)
	}
	var msgs []redis.XMessage
	for _, st := range streams {
		msgs = append(msgs, st.Messages...)
	}
	return msgs, nil
}

func (s *Store) ensureGroup(ctx context.Context, group string) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.key("audit"), group, "$").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create audit consumer group %s: %w", group, err)
	}
	return nil
}

// AckFollowed marks events returned by Follow as handled by the group.
func (s *Store) AckFollowed(ctx context.Context, group string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.rdb.XAck(ctx, s.key("audit"), group, ids...).Err(); err != nil {
		return fmt.Errorf("acknowledge audit events: %w", err)
	}
	return nil
}
