package boltstore

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// scanPage is how many keys Scan reads per transaction. Reading in pages keeps memory bounded
// and lets fn write to the store between pages: a write transaction may wait for open read
// transactions, so fn must never run inside one.
const scanPage = 256

// sweepBatch bounds the keys one sweeper transaction deletes, so it never holds the writer
// lock for long.
const sweepBatch = 1000

// Get returns the value of key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fail("get", err)
	}
	if err := check.Key(key); err != nil {
		return nil, fail("get", err)
	}
	now := s.now().UnixNano()
	var value []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v, ok := liveValue(tx.Bucket(bucketKV).Get([]byte(key)), now)
		if !ok {
			return store.ErrNotFound
		}
		value = bytes.Clone(v)
		if value == nil {
			value = []byte{}
		}
		return nil
	})
	if err != nil {
		return nil, fail("get", err)
	}
	return value, nil
}

// Put sets key to value with the given expiry (0 for none).
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ctx, key, ttl); err != nil {
		return fail("put", err)
	}
	now := s.now()
	return fail("put", s.db.Update(func(tx *bolt.Tx) error {
		return writeRecord(tx, []byte(key), value, expiryAt(now, ttl))
	}))
}

// Create sets key to value unless it holds a live value (store.ErrExists).
func (s *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ctx, key, ttl); err != nil {
		return fail("create", err)
	}
	now := s.now()
	return fail("create", s.db.Update(func(tx *bolt.Tx) error {
		k := []byte(key)
		if _, ok := liveValue(tx.Bucket(bucketKV).Get(k), now.UnixNano()); ok {
			return store.ErrExists
		}
		return writeRecord(tx, k, value, expiryAt(now, ttl))
	}))
}

// CompareAndSwap sets key to value if it currently holds old.
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ctx, key, ttl); err != nil {
		return fail("compare and swap", err)
	}
	now := s.now()
	return fail("compare and swap", s.db.Update(func(tx *bolt.Tx) error {
		k := []byte(key)
		current, ok := liveValue(tx.Bucket(bucketKV).Get(k), now.UnixNano())
		if !ok {
			return store.ErrNotFound
		}
		if !bytes.Equal(current, old) {
			return store.ErrConflict
		}
		return writeRecord(tx, k, value, expiryAt(now, ttl))
	}))
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.begin(ctx); err != nil {
		return fail("delete", err)
	}
	if err := check.Key(key); err != nil {
		return fail("delete", err)
	}
	return fail("delete", s.db.Update(func(tx *bolt.Tx) error {
		return deleteRecord(tx, []byte(key))
	}))
}

// Scan calls fn for each live key with the prefix, in byte order, a page at a time.
func (s *Store) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	if err := check.Prefix(prefix); err != nil {
		return fail("scan", err)
	}
	type item struct {
		key   string
		value []byte
	}
	page := make([]item, 0, scanPage)
	want := []byte(prefix)
	from := want
	for {
		if err := s.begin(ctx); err != nil {
			return fail("scan", err)
		}
		page = page[:0]
		now := s.now().UnixNano()
		err := s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketKV).Cursor()
			for k, rec := c.Seek(from); k != nil && bytes.HasPrefix(k, want); k, rec = c.Next() {
				if len(page) == scanPage {
					from = bytes.Clone(k)
					return nil
				}
				if v, ok := liveValue(rec, now); ok {
					page = append(page, item{string(k), bytes.Clone(v)})
				}
			}
			from = nil
			return nil
		})
		if err != nil {
			return fail("scan", err)
		}
		for _, it := range page {
			if err := fn(it.key, it.value); err != nil {
				return err
			}
		}
		if from == nil {
			return nil
		}
	}
}

func (s *Store) checkWrite(ctx context.Context, key string, ttl time.Duration) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := check.Key(key); err != nil {
		return err
	}
	return check.TTL(ttl)
}

// writeRecord stores a key's record and keeps the expiry index in step with it.
func writeRecord(tx *bolt.Tx, key, value []byte, expiry int64) error {
	if err := deleteRecord(tx, key); err != nil {
		return err
	}
	if err := tx.Bucket(bucketKV).Put(key, encodeRecord(expiry, value)); err != nil {
		return err
	}
	if expiry == 0 {
		return nil
	}
	return tx.Bucket(bucketExpiry).Put(expiryIndexKey(expiry, key), []byte{})
}

// deleteRecord removes a key's record and its expiry index entry.
func deleteRecord(tx *bolt.Tx, key []byte) error {
	kv := tx.Bucket(bucketKV)
	rec := kv.Get(key)
	if rec == nil {
		return nil
	}
	if len(rec) >= recordHeader {
		if exp := recordExpiry(rec); exp != 0 {
			if err := tx.Bucket(bucketExpiry).Delete(expiryIndexKey(exp, key)); err != nil {
				return err
			}
		}
	}
	return kv.Delete(key)
}

// sweepEvery runs sweep on a timer until the store closes.
func (s *Store) sweepEvery(interval time.Duration) {
	defer s.sweeper.Done()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-ticker.C:
			// A failed sweep is retried at the next tick; expired keys stay invisible meanwhile.
			_, _ = s.sweep()
		}
	}
}

// sweep deletes every key expired at the clock's current time and returns how many.
func (s *Store) sweep() (int, error) {
	now := s.now().UnixNano()
	total := 0
	for {
		removed := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			var due [][]byte
			c := tx.Bucket(bucketExpiry).Cursor()
			for k, _ := c.First(); k != nil && len(due) < sweepBatch; k, _ = c.Next() {
				if len(k) < 8 || int64(keySeq(k)) > now {
					break
				}
				due = append(due, bytes.Clone(k))
			}
			kv := tx.Bucket(bucketKV)
			for _, idx := range due {
				key := idx[8:]
				rec := kv.Get(key)
				// Delete the record only if the index entry is still its own.
				if rec != nil && len(rec) >= recordHeader && recordExpiry(rec) == int64(keySeq(idx)) {
					if err := kv.Delete(key); err != nil {
						return err
					}
				}
				if err := tx.Bucket(bucketExpiry).Delete(idx); err != nil {
					return err
				}
			}
			removed = len(due)
			return nil
		})
		if err != nil {
			return total, fail("sweep", err)
		}
		total += removed
		if removed < sweepBatch {
			return total, nil
		}
	}
}
