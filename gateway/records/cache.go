package records

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/gateway/access"
	"github.com/portalgate/portalgate/gateway/store"
)

// Cache layout in the storage port:
//
//	records/{org}/{record hash}/{query hash}  an upstream answer, sealed (see sealer)
//	records-epoch/{org}/{record hash}         a random value replaced by every Invalidate
//
// A record hash is a SHA-256 of the org and patient id, so no patient id is stored in clear;
// a query hash covers the type and the upstream query, parameters and values sorted. The
// epoch lets a search that was already under way when the record was invalidated see that
// its answer is stale and must not stay in the cache.
const (
	entryPrefix = "records/"
	epochPrefix = "records-epoch/"
)

// errCacheMiss reports an entry that is absent, expired or unreadable.
var errCacheMiss = errors.New("records: not in the cache")

// maxWrites bounds the cache writes under way: when the store falls that far behind,
// answers go uncached rather than pile up in memory.
const maxWrites = 64

// cache keeps upstream answers, sealed, in the storage port. Answers are written behind the
// search that fetched them, so that no search waits on the store's write (bbolt syncs every
// write to disk); until a write lands, the answer is served from memory.
type cache struct {
	kv       store.KV
	sealer   *sealer
	ttl      time.Duration
	epochTTL time.Duration
	// writeTimeout bounds one background write.
	writeTimeout time.Duration
	now          func() time.Time
	log          *slog.Logger

	mu      sync.Mutex
	pending map[string]pendingAnswer // by entry key, while its write is under way
	// invalidations counts Invalidate calls, so that a search that overlapped one does not
	// make its answer pending.
	invalidations atomic.Uint64
	slots         chan struct{} // one per write under way
	writes        sync.WaitGroup
}

type pendingAnswer struct {
	found   *found
	expires time.Time
}

// newCache returns a cache; deadline is the longest a search runs.
func newCache(kv store.KV, s *sealer, ttl, deadline time.Duration, now func() time.Time, log *slog.Logger) *cache {
	return &cache{
		kv:     kv,
		sealer: s,
		ttl:    ttl,
		// An invalidation must outlive every search that began before it.
		epochTTL:     2 * deadline,
		writeTimeout: deadline,
		now:          now,
		log:          log,
		pending:      map[string]pendingAnswer{},
		slots:        make(chan struct{}, maxWrites),
	}
}

// lookup answers from the cache, or else searches upstream and caches the answer. A cache
// that fails only costs time: the search goes upstream.
func (c *cache) lookup(ctx context.Context, key string, rec access.Record, search func(context.Context) (*fhir.SearchResult, error)) (*found, error) {
	f, err := c.get(ctx, key)
	switch {
	case err == nil:
		return f, nil
	case !errors.Is(err, errCacheMiss):
		c.log.WarnContext(ctx, "records: cache read failed", "org", rec.Org, "err", err)
	}
	generation := c.invalidations.Load()
	epoch, err := c.epoch(ctx, rec)
	if err != nil {
		c.log.WarnContext(ctx, "records: cache read failed", "org", rec.Org, "err", err)
	}
	f, err = fetch(ctx, rec.Org, search)
	if err != nil {
		return nil, err
	}
	c.putBehind(ctx, key, rec, f, epoch, generation)
	return f, nil
}

// get returns the answer under key, or errCacheMiss.
func (c *cache) get(ctx context.Context, key string) (*found, error) {
	now := c.now()
	c.mu.Lock()
	p, ok := c.pending[key]
	c.mu.Unlock()
	if ok && now.Before(p.expires) {
		return p.found, nil
	}
	sealed, err := c.kv.Get(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errCacheMiss
	case err != nil:
		return nil, fmt.Errorf("records: reading the cache: %w", err)
	}
	plain, err := c.sealer.open(sealed, []byte(key))
	if err != nil {
		// A key no longer configured, or a value not written here: refetch and overwrite.
		return nil, fmt.Errorf("%w: %w", errCacheMiss, err)
	}
	expires, f, err := decodeEntry(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCacheMiss, err)
	}
	if !now.Before(expires) {
		return nil, errCacheMiss
	}
	return f, nil
}

// putBehind writes an answer in the background, serving it from memory meanwhile. epoch and
// generation are the record's epoch and the count of invalidations read before the answer
// was fetched.
func (c *cache) putBehind(ctx context.Context, key string, rec access.Record, f *found, epoch []byte, generation uint64) {
	select {
	case c.slots <- struct{}{}:
	default:
		c.log.WarnContext(ctx, "records: cache writes are behind; an answer goes uncached", "org", rec.Org)
		return
	}
	expires := c.now().Add(c.ttl)
	c.mu.Lock()
	// Checked under the lock that Invalidate takes after counting itself: either this
	// answer is pending before Invalidate clears the record's, or it is never pending.
	if c.invalidations.Load() == generation {
		c.pending[key] = pendingAnswer{found: f, expires: expires}
	}
	c.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	c.writes.Go(func() {
		defer func() { <-c.slots }()
		ctx, cancel := context.WithTimeout(ctx, c.writeTimeout)
		defer cancel()
		if err := c.put(ctx, key, rec, expires, f, epoch); err != nil {
			c.log.WarnContext(ctx, "records: cache write failed", "org", rec.Org, "err", err)
		}
		c.mu.Lock()
		if c.pending[key].found == f {
			delete(c.pending, key)
		}
		c.mu.Unlock()
	})
}

// put stores an answer fetched since the record's epoch was read, unless the record was
// invalidated meanwhile: the answer may predate the change that caused it. The epoch is
// checked before the write, and again after it, removing the entry when it changed: an
// Invalidate between the two replaces the epoch before deleting entries, so it either
// deletes this one or is seen by the second check.
func (c *cache) put(ctx context.Context, key string, rec access.Record, expires time.Time, f *found, epoch []byte) error {
	if current, err := c.epoch(ctx, rec); err != nil || !bytes.Equal(current, epoch) {
		return err
	}
	sealed, err := c.sealer.seal(encodeEntry(expires, f), []byte(key))
	if err != nil {
		return err
	}
	if err := c.kv.Put(ctx, key, sealed, c.ttl); err != nil {
		return fmt.Errorf("records: writing the cache: %w", err)
	}
	current, err := c.epoch(ctx, rec)
	if err == nil && bytes.Equal(current, epoch) {
		return nil
	}
	if derr := c.kv.Delete(ctx, key); derr != nil {
		return fmt.Errorf("records: removing a stale cache entry: %w", errors.Join(err, derr))
	}
	return err
}

// epoch returns the record's current epoch, nil when it was never invalidated lately.
func (c *cache) epoch(ctx context.Context, rec access.Record) ([]byte, error) {
	v, err := c.kv.Get(ctx, epochKey(rec.Org, rec.Patient))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("records: reading the cache epoch: %w", err)
	}
	return v, nil
}

// forget drops the pending answers under prefix.
func (c *cache) forget(prefix string) {
	c.invalidations.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.pending {
		if strings.HasPrefix(key, prefix) {
			delete(c.pending, key)
		}
	}
}

// Invalidate drops every cached answer about the patient's record at org, so that the next
// search asks the org again; searches under way keep their answers out of the cache. It
// does nothing when caching is off.
func (s *Service) Invalidate(ctx context.Context, org, patient string) error {
	if !fhir.ValidID(org) || patient == "" {
		return fmt.Errorf("%w: invalidating needs an org id and a patient id", ErrInvalidQuery)
	}
	c := s.cache
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.deadline)
	defer cancel()
	c.forget(recordPrefix(org, patient))
	epoch := make([]byte, 16)
	_, _ = rand.Read(epoch) // never fails (crypto/rand)
	if err := c.kv.Put(ctx, epochKey(org, patient), epoch, c.epochTTL); err != nil {
		return fmt.Errorf("records: invalidating: %w", err)
	}
	var keys []string
	err := c.kv.Scan(ctx, recordPrefix(org, patient), func(key string, _ []byte) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return fmt.Errorf("records: invalidating: %w", err)
	}
	for _, key := range keys {
		if err := c.kv.Delete(ctx, key); err != nil {
			return fmt.Errorf("records: invalidating: %w", err)
		}
	}
	return nil
}

// recordPrefix is the prefix of every entry about a patient's record at org.
func recordPrefix(org, patient string) string {
	return entryPrefix + org + "/" + digest("record", org, patient) + "/"
}

func entryKey(org, patient, typ string, params url.Values) string {
	return recordPrefix(org, patient) + digest("query", typ, canonicalQuery(params))
}

func epochKey(org, patient string) string {
	return epochPrefix + org + "/" + digest("record", org, patient)
}

// digest hashes parts, each length-prefixed so that no two lists of parts collide, under a
// label saying what they are. 128 bits of SHA-256 in hex.
func digest(label string, parts ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range append([]string{label}, parts...) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// canonicalQuery writes a query with its parameters and, within each, its values sorted:
// repeated parameters are ANDed, so their order does not change what is found.
func canonicalQuery(q url.Values) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range slices.Sorted(slices.Values(q[k])) {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}
