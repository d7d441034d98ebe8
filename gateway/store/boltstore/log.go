package boltstore

import (
	"bytes"
	"context"
	"math"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// Append adds value at the end of the log. IDs come from the log bucket's sequence, which
// only grows, so they stay increasing across Trim.
func (s *Store) Append(ctx context.Context, log string, value []byte) (string, error) {
	if err := s.begin(ctx); err != nil {
		return "", fail("append", err)
	}
	if err := check.Name("log", log); err != nil {
		return "", fail("append", err)
	}
	var seq uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketLogs).CreateBucketIfNotExists([]byte(log))
		if err != nil {
			return err
		}
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(seqKey(seq), value)
	})
	if err != nil {
		return "", fail("append to "+log, err)
	}
	s.appends.broadcast(log)
	return formatID(seq), nil
}

// Range returns up to limit entries after the given ID.
func (s *Store) Range(ctx context.Context, log, after string, limit int) ([]store.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fail("range", err)
	}
	if err := check.Name("log", log); err != nil {
		return nil, fail("range", err)
	}
	if err := check.Positive("limit", limit); err != nil {
		return nil, fail("range", err)
	}
	var from uint64
	if after != "" {
		seq, err := parseID(after)
		if err != nil {
			return nil, fail("range", err)
		}
		if seq == math.MaxUint64 {
			return nil, nil
		}
		from = seq
	}
	var entries []store.Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogs).Bucket([]byte(log))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(from + 1)); k != nil && len(entries) < limit; k, v = c.Next() {
			entries = append(entries, store.Entry{ID: formatID(keySeq(k)), Value: bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return nil, fail("range "+log, err)
	}
	return entries, nil
}

// Trim keeps the newest maxLen entries of the log.
func (s *Store) Trim(ctx context.Context, log string, maxLen int) error {
	if err := s.begin(ctx); err != nil {
		return fail("trim", err)
	}
	if err := check.Name("log", log); err != nil {
		return fail("trim", err)
	}
	if err := check.NonNegative("max length", maxLen); err != nil {
		return fail("trim", err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogs).Bucket([]byte(log))
		if b == nil {
			return nil
		}
		// Walk back past the entries to keep; everything from there down goes.
		c := b.Cursor()
		k, _ := c.Last()
		for kept := 0; kept < maxLen && k != nil; kept++ {
			k, _ = c.Prev()
		}
		if k == nil {
			return nil
		}
		last := keySeq(k)
		// Collect first: deleting under a moving cursor skips keys.
		var doomed [][]byte
		for k, _ := c.First(); k != nil && keySeq(k) <= last; k, _ = c.Next() {
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail("trim "+log, err)
	}
	return nil
}

// appendSignal wakes the blocked readers of a log when it grows. A reader takes the log's
// channel before it looks for entries, so an Append that lands between the look and the wait
// still wakes it.
type appendSignal struct {
	mu      sync.Mutex
	waiters map[string]chan struct{}
}

// wait returns a channel that is closed by the next Append to log.
func (a *appendSignal) wait(log string) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waiters == nil {
		a.waiters = make(map[string]chan struct{})
	}
	ch, ok := a.waiters[log]
	if !ok {
		ch = make(chan struct{})
		a.waiters[log] = ch
	}
	return ch
}

func (a *appendSignal) broadcast(log string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch, ok := a.waiters[log]; ok {
		close(ch)
		delete(a.waiters, log)
	}
}
