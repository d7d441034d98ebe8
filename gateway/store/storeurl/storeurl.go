// Package storeurl opens the storage engine named by one setting, so the binary needs a single
// configuration value to choose between the embedded and the shared store.
//
//	""                        bbolt at Options.BoltPath (the default: one machine, no Redis)
//	bolt:PATH                 bbolt at PATH
//	redis://…  rediss://…     Redis, one server
//	redis-sentinel://…        Redis behind Sentinel (rediss-sentinel:// for TLS)
//	redis-cluster://…         Redis Cluster (rediss-cluster:// for TLS)
//
// The Redis forms are described by redisstore.ParseURL.
package storeurl

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/boltstore"
	"github.com/portalgate/portalgate/gateway/store/redisstore"
)

// Options complete what the URL does not say.
type Options struct {
	// BoltPath is the file used when the URL is empty or "bolt:" has no path.
	BoltPath string
	// Namespace prefixes every Redis key; empty means redisstore.DefaultNamespace.
	Namespace string
	// Now is the bbolt engine's clock; nil means time.Now.
	Now func() time.Time
}

// Engine is the kind of engine a URL names.
type Engine string

// Engines.
const (
	Bolt  Engine = "bolt"
	Redis Engine = "redis"
)

// Parse says which engine a URL names and, for bbolt, which file. It checks only the form:
// Open reports what is wrong with the rest.
func Parse(rawURL string, opts Options) (engine Engine, boltPath string, err error) {
	switch {
	case rawURL == "":
		if opts.BoltPath == "" {
			return "", "", fmt.Errorf("storeurl: %w: no store URL and no default bolt path", store.ErrInvalid)
		}
		return Bolt, opts.BoltPath, nil
	case strings.HasPrefix(rawURL, "bolt://"):
		return "", "", fmt.Errorf("storeurl: %w: write bolt:PATH, as in bolt:/var/lib/portalgate/store.db, not bolt://", store.ErrInvalid)
	case strings.HasPrefix(rawURL, "bolt:"):
		path := strings.TrimPrefix(rawURL, "bolt:")
		if path == "" {
			path = opts.BoltPath
		}
		if path == "" {
			return "", "", fmt.Errorf("storeurl: %w: bolt: without a path and no default bolt path", store.ErrInvalid)
		}
		return Bolt, path, nil
	case isRedis(rawURL):
		return Redis, "", nil
	default:
		return "", "", fmt.Errorf("storeurl: %w: unknown store URL; want bolt:PATH, redis://, rediss://, redis-sentinel:// or redis-cluster://", store.ErrInvalid)
	}
}

// Open opens the engine the URL names. For Redis it checks, within ctx, that the server
// answers.
func Open(ctx context.Context, rawURL string, opts Options) (store.Store, error) {
	engine, path, err := Parse(rawURL, opts)
	if err != nil {
		return nil, err
	}
	switch engine {
	case Bolt:
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("storeurl: %w", err)
		}
		s, err := boltstore.Open(boltstore.Options{Path: path, Now: opts.Now})
		if err != nil {
			return nil, fmt.Errorf("storeurl: %w", err)
		}
		return s, nil
	default:
		s, err := redisstore.Open(ctx, rawURL, redisstore.Options{Namespace: opts.Namespace})
		if err != nil {
			return nil, fmt.Errorf("storeurl: %w", err)
		}
		return s, nil
	}
}

func isRedis(rawURL string) bool {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok {
		return false
	}
	switch scheme {
	case "redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster":
		return true
	}
	return false
}
