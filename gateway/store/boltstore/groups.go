package boltstore

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// ReadGroup hands out entries of the log that the group has not seen, waiting up to block for
// an Append when there are none.
func (s *Store) ReadGroup(ctx context.Context, log, group, consumer string, count int, block time.Duration) ([]store.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fail("read group", err)
	}
	if err := check.Names("log", log, "group", group, "consumer", consumer); err != nil {
		return nil, fail("read group", err)
	}
	if err := check.Positive("count", count); err != nil {
		return nil, fail("read group", err)
	}
	if err := check.Wait("block", block); err != nil {
		return nil, fail("read group", err)
	}
	var timeout <-chan time.Time
	for {
		appended := s.appends.wait(log)
		entries, err := s.deliverNew(log, group, consumer, count)
		if err != nil || len(entries) > 0 || block == 0 {
			return entries, err
		}
		if timeout == nil {
			timer := time.NewTimer(block)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-appended:
		case <-timeout:
			return nil, nil
		case <-ctx.Done():
			return nil, fail("read group "+group+" of "+log, ctx.Err())
		case <-s.closing:
			return nil, fail("read group "+group+" of "+log, store.ErrClosed)
		}
	}
}

// deliverNew moves up to count undelivered entries into the group's pending set. It looks in a
// read transaction first, so idle polling does not write to the file.
func (s *Store) deliverNew(log, group, consumer string, count int) ([]store.Entry, error) {
	fresh := false
	err := s.db.View(func(tx *bolt.Tx) error {
		g := groupBucket(tx, log, group)
		if g == nil {
			fresh = true
			return nil
		}
		if b := tx.Bucket(bucketLogs).Bucket([]byte(log)); b != nil {
			k, _ := b.Cursor().Last()
			fresh = k != nil && keySeq(k) > g.Sequence()
		}
		return nil
	})
	if err != nil {
		return nil, fail("read group "+group+" of "+log, err)
	}
	if !fresh {
		return nil, nil
	}

	now := s.now().UnixNano()
	var entries []store.Entry
	err = s.db.Update(func(tx *bolt.Tx) error {
		g, err := createGroupBucket(tx, log, group)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketLogs).Bucket([]byte(log))
		if b == nil {
			return nil
		}
		last := g.Sequence()
		c := b.Cursor()
		for k, v := c.Seek(seqKey(last + 1)); k != nil && len(entries) < count; k, v = c.Next() {
			last = keySeq(k)
			entries = append(entries, store.Entry{ID: formatID(last), Value: bytes.Clone(v)})
			p := pending{deliveredAt: now, deliveries: 1, consumer: consumer}
			if err := g.Put(seqKey(last), p.encode()); err != nil {
				return err
			}
		}
		return g.SetSequence(last)
	})
	if err != nil {
		return nil, fail("read group "+group+" of "+log, err)
	}
	return entries, nil
}

// Ack removes entries from the group's pending set.
func (s *Store) Ack(ctx context.Context, log, group string, ids ...string) error {
	if err := s.begin(ctx); err != nil {
		return fail("ack", err)
	}
	if err := check.Names("log", log, "group", group); err != nil {
		return fail("ack", err)
	}
	seqs := make([]uint64, len(ids))
	for i, id := range ids {
		seq, err := parseID(id)
		if err != nil {
			return fail("ack", err)
		}
		seqs[i] = seq
	}
	if len(seqs) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		g := groupBucket(tx, log, group)
		if g == nil {
			return nil
		}
		for _, seq := range seqs {
			if err := g.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail("ack "+group+" of "+log, err)
	}
	return nil
}

// Claim hands pending entries idle for at least minIdle, by the store's clock, to consumer.
func (s *Store) Claim(ctx context.Context, log, group, consumer string, minIdle time.Duration, count int) ([]store.Entry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fail("claim", err)
	}
	if err := check.Names("log", log, "group", group, "consumer", consumer); err != nil {
		return nil, fail("claim", err)
	}
	if err := check.Wait("min idle", minIdle); err != nil {
		return nil, fail("claim", err)
	}
	if err := check.Positive("count", count); err != nil {
		return nil, fail("claim", err)
	}
	now := s.now().UnixNano()
	idleSince := func(p []byte) bool {
		rec, ok := decodePending(p)
		return !ok || now-rec.deliveredAt >= int64(minIdle)
	}
	// Look in a read transaction first, so idle polling does not write to the file.
	due := false
	err := s.db.View(func(tx *bolt.Tx) error {
		if g := groupBucket(tx, log, group); g != nil {
			c := g.Cursor()
			for k, v := c.First(); k != nil && !due; k, v = c.Next() {
				due = idleSince(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fail("claim "+group+" of "+log, err)
	}
	if !due {
		return nil, nil
	}

	var entries []store.Entry
	err = s.db.Update(func(tx *bolt.Tx) error {
		g := groupBucket(tx, log, group)
		if g == nil {
			return nil
		}
		b := tx.Bucket(bucketLogs).Bucket([]byte(log))
		var claimed, gone [][]byte
		var records [][]byte
		c := g.Cursor()
		for k, v := c.First(); k != nil && len(entries) < count; k, v = c.Next() {
			if !idleSince(v) {
				continue
			}
			p, _ := decodePending(v)
			value, found := logValue(b, k)
			if !found {
				gone = append(gone, bytes.Clone(k))
				continue
			}
			entries = append(entries, store.Entry{ID: formatID(keySeq(k)), Value: value})
			claimed = append(claimed, bytes.Clone(k))
			records = append(records, pending{deliveredAt: now, deliveries: p.deliveries + 1, consumer: consumer}.encode())
		}
		// Write after the walk: changing a bucket under a moving cursor skips keys.
		for i, k := range claimed {
			if err := g.Put(k, records[i]); err != nil {
				return err
			}
		}
		for _, k := range gone {
			if err := g.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fail("claim "+group+" of "+log, err)
	}
	return entries, nil
}

// logValue returns a copy of the entry at key k of log bucket b, if it is still there. It
// compares keys rather than testing for nil, because an empty value may read back as nil.
func logValue(b *bolt.Bucket, k []byte) ([]byte, bool) {
	if b == nil {
		return nil, false
	}
	found, v := b.Cursor().Seek(k)
	if !bytes.Equal(found, k) {
		return nil, false
	}
	return bytes.Clone(v), true
}

func groupBucket(tx *bolt.Tx, log, group string) *bolt.Bucket {
	groups := tx.Bucket(bucketGroups).Bucket([]byte(log))
	if groups == nil {
		return nil
	}
	return groups.Bucket([]byte(group))
}

func createGroupBucket(tx *bolt.Tx, log, group string) (*bolt.Bucket, error) {
	groups, err := tx.Bucket(bucketGroups).CreateBucketIfNotExists([]byte(log))
	if err != nil {
		return nil, err
	}
	return groups.CreateBucketIfNotExists([]byte(group))
}
