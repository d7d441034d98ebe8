package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// valueField is the one field of every stream entry.
const valueField = "v"

// Append adds value to the log's stream with XADD.
func (s *Store) Append(ctx context.Context, log string, value []byte) (string, error) {
	if err := s.begin(ctx); err != nil {
		return "", s.fail("append", err)
	}
	if err := check.Name("log", log); err != nil {
		return "", s.fail("append", err)
	}
	id, err := s.client.XAdd(ctx, &redis.XAddArgs{
		Stream: s.logPrefix + log,
		Values: []any{valueField, value},
	}).Result()
	if err != nil {
		return "", s.fail("append to "+log, err)
	}
	entry, err := entryID(id)
	if err != nil {
		return "", s.fail("append to "+log, err)
	}
	return entry, nil
}

// Range reads the log with XRANGE, starting after the given ID.
func (s *Store) Range(ctx context.Context, log, after string, limit int) ([]store.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, s.fail("range", err)
	}
	if err := check.Name("log", log); err != nil {
		return nil, s.fail("range", err)
	}
	if err := check.Positive("limit", limit); err != nil {
		return nil, s.fail("range", err)
	}
	start := "-"
	if after != "" {
		id, err := streamID(after)
		if err != nil {
			return nil, s.fail("range", err)
		}
		start = "(" + id // exclusive
	}
	msgs, err := s.client.XRangeN(ctx, s.logPrefix+log, start, "+", int64(limit)).Result()
	if err != nil {
		return nil, s.fail("range "+log, err)
	}
	entries, err := toEntries(msgs)
	if err != nil {
		return nil, s.fail("range "+log, err)
	}
	return entries, nil
}

// Trim keeps the newest maxLen entries with an exact XTRIM MAXLEN.
func (s *Store) Trim(ctx context.Context, log string, maxLen int) error {
	if err := s.begin(ctx); err != nil {
		return s.fail("trim", err)
	}
	if err := check.Name("log", log); err != nil {
		return s.fail("trim", err)
	}
	if err := check.NonNegative("max length", maxLen); err != nil {
		return s.fail("trim", err)
	}
	if err := s.client.XTrimMaxLen(ctx, s.logPrefix+log, int64(maxLen)).Err(); err != nil {
		return s.fail("trim "+log, err)
	}
	return nil
}

// toEntries converts stream messages, skipping any without a value: Redis 6.2 reports entries
// claimed after they were trimmed that way.
func toEntries(msgs []redis.XMessage) ([]store.Entry, error) {
	entries := make([]store.Entry, 0, len(msgs))
	for _, m := range msgs {
		value, ok := m.Values[valueField].(string)
		if !ok {
			continue
		}
		id, err := entryID(m.ID)
		if err != nil {
			return nil, err
		}
		entries = append(entries, store.Entry{ID: id, Value: []byte(value)})
	}
	return entries, nil
}

// Bounds on one blocking XREADGROUP. A long block is cut into slices so a cancelled context
// (which go-redis cannot see while it waits on the socket) is noticed within blockSlice, and
// the server-side block ends deadlineMargin before the context's deadline, so the reply
// arrives before the connection's deadline tears it down.
const (
	blockSlice     = 250 * time.Millisecond
	deadlineMargin = 100 * time.Millisecond
)

// ReadGroup reads new entries with XREADGROUP, creating the group (and the stream) at the start
// of the log on first use.
func (s *Store) ReadGroup(ctx context.Context, log, group, consumer string, count int, block time.Duration) ([]store.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, s.fail("read group", err)
	}
	if err := check.Names("log", log, "group", group, "consumer", consumer); err != nil {
		return nil, s.fail("read group", err)
	}
	if err := check.Positive("count", count); err != nil {
		return nil, s.fail("read group", err)
	}
	if err := check.Wait("block", block); err != nil {
		return nil, s.fail("read group", err)
	}
	op := "read group " + group + " of " + log
	until := time.Now().Add(block)
	for {
		wait := min(time.Until(until), blockSlice)
		if deadline, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(deadline)-deadlineMargin)
		}
		entries, err := s.readGroupOnce(ctx, log, group, consumer, count, wait)
		if err != nil {
			return nil, s.fail(op, err)
		}
		if len(entries) > 0 || block == 0 || !time.Now().Before(until) {
			return entries, nil
		}
		if wait < time.Millisecond {
			// Too close to the context's deadline to block on the server: wait here.
			return nil, s.fail(op, waitOut(ctx, time.Until(until), s.closing))
		}
		if err := s.begin(ctx); err != nil {
			return nil, s.fail(op, err)
		}
	}
}

// readGroupOnce is one XREADGROUP, blocking on the server for wait when it is at least a
// millisecond (BLOCK 0 would mean forever).
func (s *Store) readGroupOnce(ctx context.Context, log, group, consumer string, count int, wait time.Duration) ([]store.Entry, error) {
	args := &redis.XReadGroupArgs{
		Group:    group,
		Consumer: consumer,
		Streams:  []string{s.logPrefix + log, ">"},
		Count:    int64(count),
		Block:    -1,
	}
	if wait >= time.Millisecond {
		args.Block = wait.Truncate(time.Millisecond)
	}
	streams, err := s.client.XReadGroup(ctx, args).Result()
	if redisErrorIs(err, "NOGROUP") {
		if err := s.createGroup(ctx, log, group); err != nil {
			return nil, err
		}
		streams, err = s.client.XReadGroup(ctx, args).Result()
	}
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		return nil, err
	case len(streams) == 0:
		return nil, nil
	}
	return toEntries(streams[0].Messages)
}

// createGroup creates the group at the start of the log; another replica creating it first is
// fine.
func (s *Store) createGroup(ctx context.Context, log, group string) error {
	err := s.client.XGroupCreateMkStream(ctx, s.logPrefix+log, group, "0").Err()
	if err != nil && !redisErrorIs(err, "BUSYGROUP") {
		return fmt.Errorf("create group: %w", err)
	}
	return nil
}

// waitOut waits for d, the context or the store's closing, whichever comes first.
func waitOut(ctx context.Context, d time.Duration, closing <-chan struct{}) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closing:
		return store.ErrClosed
	}
}

// Ack acknowledges entries with XACK.
func (s *Store) Ack(ctx context.Context, log, group string, ids ...string) error {
	if err := s.begin(ctx); err != nil {
		return s.fail("ack", err)
	}
	if err := check.Names("log", log, "group", group); err != nil {
		return s.fail("ack", err)
	}
	streamIDs := make([]string, len(ids))
	for i, id := range ids {
		sid, err := streamID(id)
		if err != nil {
			return s.fail("ack", err)
		}
		streamIDs[i] = sid
	}
	if len(streamIDs) == 0 {
		return nil
	}
	err := s.client.XAck(ctx, s.logPrefix+log, group, streamIDs...).Err()
	if err != nil && !redisErrorIs(err, "NOGROUP") {
		return s.fail("ack "+group+" of "+log, err)
	}
	return nil
}

// Claim takes over idle pending entries with XAUTOCLAIM, following its cursor until count
// entries are found or the pending set is exhausted.
func (s *Store) Claim(ctx context.Context, log, group, consumer string, minIdle time.Duration, count int) ([]store.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, s.fail("claim", err)
	}
	if err := check.Names("log", log, "group", group, "consumer", consumer); err != nil {
		return nil, s.fail("claim", err)
	}
	if err := check.Wait("min idle", minIdle); err != nil {
		return nil, s.fail("claim", err)
	}
	if err := check.Positive("count", count); err != nil {
		return nil, s.fail("claim", err)
	}
	op := "claim " + group + " of " + log
	var entries []store.Entry
	for start := "0-0"; len(entries) < count; {
		msgs, next, err := s.client.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   s.logPrefix + log,
			Group:    group,
			Consumer: consumer,
			MinIdle:  ceilMillis(minIdle),
			Start:    start,
			Count:    int64(count - len(entries)),
		}).Result()
		if redisErrorIs(err, "NOGROUP") {
			return nil, nil
		}
		if err != nil {
			return nil, s.fail(op, err)
		}
		claimed, err := toEntries(msgs)
		if err != nil {
			return nil, s.fail(op, err)
		}
		entries = append(entries, claimed...)
		if next == "0-0" {
			break
		}
		start = next
	}
	return entries, nil
}
