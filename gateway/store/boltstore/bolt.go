// Package boltstore is the embedded engine of the storage port (package store): everything in
// one bbolt file, for a gateway running on one machine with no Redis.
//
// Time comes from an injected clock, so expiry and idle rules are testable without sleeping:
// an expired key is invisible from the moment the clock passes its expiry, and a background
// sweeper deletes it later. Blocking reads of consumer groups are woken by Append in the same
// process, and publish/subscribe is in-process, which is all one machine needs.
//
// Layout: bucket "kv" maps a key to an 8-byte expiry (Unix nanoseconds, 0 for none) followed by
// the value; bucket "expiry" indexes keys by expiry for the sweeper; bucket "logs" holds one
// bucket per log, mapping an 8-byte big-endian sequence number to the value; bucket "groups"
// holds one bucket per log and, in it, one per group, whose sequence is the last entry
// delivered and whose keys are the pending entries.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/portalgate/portalgate/gateway/store"
)

// Defaults for Options.
const (
	DefaultSweepInterval = time.Minute
	DefaultLockTimeout   = 5 * time.Second
)

var (
	bucketKV     = []byte("kv")
	bucketExpiry = []byte("expiry")
	bucketLogs   = []byte("logs")
	bucketGroups = []byte("groups")
)

// Options configure Open.
type Options struct {
	// Path of the database file, created (with its directory) when missing. Required.
	Path string
	// Now is the clock for expiry and idle times; nil means time.Now.
	Now func() time.Time
	// SweepInterval is how often expired keys are deleted from the file; 0 means
	// DefaultSweepInterval and a negative value turns the sweeper off. Expired keys are
	// invisible either way: the sweeper only reclaims their space.
	SweepInterval time.Duration
	// LockTimeout bounds the wait for another process to release the file; 0 means
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

// Store is the bbolt engine. It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time

	appends appendSignal
	hub     hub

	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	sweeper   sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the database file at opts.Path.
func Open(opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("boltstore: open: %w: empty path", store.ErrInvalid)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	// The file holds sessions and upstream tokens: readable by this user only.
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: open: %w", err)
	}
	db, err := bolt.Open(opts.Path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("boltstore: open: %s is locked by another process: %w", opts.Path, err)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", opts.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketKV, bucketExpiry, bucketLogs, bucketGroups} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: create buckets: %w", opts.Path, err)
	}
	s := &Store{
		db:      db,
		now:     opts.Now,
		closing: make(chan struct{}),
	}
	if opts.SweepInterval > 0 {
		s.sweeper.Add(1)
		go s.sweepEvery(opts.SweepInterval)
	}
	return s, nil
}

// Ping reports whether the file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return fail("ping", err)
	}
	return fail("ping", s.db.View(func(*bolt.Tx) error { return nil }))
}

// Close stops the sweeper, ends every subscription and blocked read, and closes the file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.sweeper.Wait()
		s.hub.closeAll()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("boltstore: close: %w", err)
		}
	})
	return s.closeErr
}

// begin is the guard at the top of every call: a closed store or a done context fails it.
func (s *Store) begin(ctx context.Context) error {
	select {
	case <-s.closing:
		return store.ErrClosed
	default:
	}
	return ctx.Err()
}

// fail wraps err with the operation, turning bbolt's "closed" into the port's.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		err = store.ErrClosed
	}
	return fmt.Errorf("boltstore: %s: %w", op, err)
}
