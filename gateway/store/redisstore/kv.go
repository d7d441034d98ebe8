package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// scanBatch is the SCAN hint and the number of GETs pipelined per round trip in Scan.
const scanBatch = 256

// Swap outcomes of compareAndSwap.
const (
	swapMissing  = 0
	swapConflict = 1
	swapDone     = 2
)

// compareAndSwap runs on the server so the read and the write are one step. ARGV: old value,
// new value, ttl in milliseconds (0 for none). It touches one key, so it runs on Cluster.
var compareAndSwap = redis.NewScript(`
local current = redis.call('GET', KEYS[1])
if current == false then return 0 end
if current ~= ARGV[1] then return 1 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 2
`)

// Get returns the value of key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, s.fail("get", err)
	}
	if err := check.Key(key); err != nil {
		return nil, s.fail("get", err)
	}
	value, err := s.client.Get(ctx, s.kvPrefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, s.fail("get", store.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail("get", err)
	}
	return value, nil
}

// Put sets key to value; a ttl of 0 also clears any expiry the key had.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ctx, key, ttl); err != nil {
		return s.fail("put", err)
	}
	return s.fail("put", s.client.Set(ctx, s.kvPrefix+key, value, ceilMillis(ttl)).Err())
}

// Create sets key to value with SET NX.
func (s *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ctx, key, ttl); err != nil {
		return s.fail("create", err)
	}
	created, err := s.client.SetNX(ctx, s.kvPrefix+key, value, ceilMillis(ttl)).Result()
	if err != nil {
		return s.fail("create", err)
	}
	if !created {
		return s.fail("create", store.ErrExists)
	}
	return nil
}

// CompareAndSwap sets key to value if it holds old, in one server-side script.
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ctx, key, ttl); err != nil {
		return s.fail("compare and swap", err)
	}
	ttlMillis := strconv.FormatInt(ceilMillis(ttl).Milliseconds(), 10)
	outcome, err := compareAndSwap.Run(ctx, s.client, []string{s.kvPrefix + key}, old, value, ttlMillis).Int()
	switch {
	case err != nil:
		return s.fail("compare and swap", err)
	case outcome == swapMissing:
		return s.fail("compare and swap", store.ErrNotFound)
	case outcome == swapConflict:
		return s.fail("compare and swap", store.ErrConflict)
	}
	return nil
}

// Delete removes key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.begin(ctx); err != nil {
		return s.fail("delete", err)
	}
	if err := check.Key(key); err != nil {
		return s.fail("delete", err)
	}
	return s.fail("delete", s.client.Del(ctx, s.kvPrefix+key).Err())
}

// Scan lists the matching keys on every master with SCAN MATCH, sorts them, then reads their
// values with pipelined GETs, skipping keys that expired or went away in between.
func (s *Store) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	if err := s.begin(ctx); err != nil {
		return s.fail("scan", err)
	}
	if err := check.Prefix(prefix); err != nil {
		return s.fail("scan", err)
	}
	keys, err := s.scanKeys(ctx, globEscape(s.kvPrefix+prefix)+"*")
	if err != nil {
		return s.fail("scan", err)
	}
	for batch := range slices.Chunk(keys, scanBatch) {
		if err := s.begin(ctx); err != nil {
			return s.fail("scan", err)
		}
		cmds := make([]*redis.StringCmd, len(batch))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range batch {
				cmds[i] = p.Get(ctx, k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return s.fail("scan", err)
		}
		for i, cmd := range cmds {
			value, err := cmd.Bytes()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return s.fail("scan", err)
			}
			if err := fn(strings.TrimPrefix(batch[i], s.kvPrefix), value); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanKeys returns the keys matching pattern on every master, sorted and without the
// duplicates SCAN may return.
func (s *Store) scanKeys(ctx context.Context, pattern string) ([]string, error) {
	var (
		mu   sync.Mutex
		keys []string
	)
	scanNode := func(ctx context.Context, node redis.Cmdable) error {
		var found []string
		iter := node.Scan(ctx, 0, pattern, scanBatch).Iterator()
		for iter.Next(ctx) {
			found = append(found, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		mu.Lock()
		keys = append(keys, found...)
		mu.Unlock()
		return nil
	}
	var err error
	if cluster, ok := s.client.(*redis.ClusterClient); ok {
		err = cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return scanNode(ctx, node)
		})
	} else {
		err = scanNode(ctx, s.client)
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
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

// ceilMillis rounds a TTL or idle time up to whole milliseconds, which is what Redis counts. Rounding up keeps a
// sub-millisecond TTL from turning into 0, which would mean "no expiry".
func ceilMillis(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	return (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
}

// globEscape quotes the characters SCAN MATCH treats as a pattern, so a prefix matches only
// itself.
func globEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
