package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/portalgate/portalgate/gateway/store"
)

// Topology is how the servers named by a Redis URL are deployed.
type Topology int

// Topologies.
const (
	Single Topology = iota
	Sentinel
	Cluster
)

func (t Topology) String() string {
	switch t {
	case Sentinel:
		return "sentinel"
	case Cluster:
		return "cluster"
	default:
		return "single"
	}
}

// ClientConfig is a parsed Redis URL.
type ClientConfig struct {
	Topology Topology
	Options  redis.UniversalOptions
	// Redacted is the URL with its password masked, for logs and errors.
	Redacted string
}

// NewClient returns a client for the configuration, with ContextTimeoutEnabled so that
// context deadlines bound every network wait.
func (c ClientConfig) NewClient() redis.UniversalClient {
	opts := c.Options
	opts.ContextTimeoutEnabled = true
	switch c.Topology {
	case Sentinel:
		return redis.NewFailoverClient(opts.Failover())
	case Cluster:
		return redis.NewClusterClient(opts.Cluster())
	default:
		return redis.NewClient(opts.Simple())
	}
}

// Default ports of multi-host URLs.
const (
	defaultRedisPort    = "6379"
	defaultSentinelPort = "26379"
)

// ParseURL reads a Redis URL in one of these forms:
//
//	redis://[[user]:password@]host[:port][/db][?option=value...]        one server
//	rediss://...                                                        the same over TLS
//	redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db][?...]
//	rediss-sentinel://...                                               the same over TLS
//	redis-cluster://[[user]:password@]host[:port][,host[:port]...][?...]
//	rediss-cluster://...                                                the same over TLS
//
// The options are go-redis's URL options (dial_timeout, read_timeout, pool_size, ...); the
// Sentinel forms also take sentinel_username and sentinel_password, the credentials of the
// Sentinels themselves. Sentinels listen on 26379 unless a port is given, servers on 6379.
// Errors never repeat the URL, which may hold a password.
func ParseURL(rawURL string) (ClientConfig, error) {
	scheme, _, ok := strings.Cut(rawURL, "://")
	if !ok || !validScheme(scheme) {
		return ClientConfig{}, fmt.Errorf("redisstore: %w: Redis URL does not start with scheme://", store.ErrInvalid)
	}
	var (
		cfg ClientConfig
		err error
	)
	switch scheme {
	case "redis", "rediss":
		cfg, err = parseSingle(rawURL)
	case "redis-sentinel", "rediss-sentinel":
		cfg, err = parseMultiHost(rawURL, Sentinel)
	case "redis-cluster", "rediss-cluster":
		cfg, err = parseMultiHost(rawURL, Cluster)
	default:
		return ClientConfig{}, fmt.Errorf("redisstore: %w: unsupported Redis URL scheme %q; want redis, rediss, redis-sentinel, rediss-sentinel, redis-cluster or rediss-cluster",
			store.ErrInvalid, scheme)
	}
	if err != nil {
		return ClientConfig{}, fmt.Errorf("redisstore: %w: Redis URL: %w", store.ErrInvalid, err)
	}
	return cfg, nil
}

func parseSingle(rawURL string) (ClientConfig, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return ClientConfig{}, err
	}
	if u.Host == "" {
		return ClientConfig{}, errors.New("no host")
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return ClientConfig{}, unquoted(err)
	}
	return ClientConfig{Topology: Single, Options: universal(opts), Redacted: u.Redacted()}, nil
}

// parseMultiHost reads the Sentinel and Cluster forms. Their host lists are not valid URL
// hosts, so the list is cut out first and the rest is parsed as a one-host redis:// URL by
// go-redis, which keeps options and credentials consistent with the single-server form.
func parseMultiHost(rawURL string, topology Topology) (ClientConfig, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hostList := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hostList = authority[:i+1], authority[i+1:]
	}
	defaultPort := defaultRedisPort
	if topology == Sentinel {
		defaultPort = defaultSentinelPort
	}
	addrs, err := splitHosts(hostList, defaultPort)
	if err != nil {
		return ClientConfig{}, err
	}

	tlsOn := strings.HasPrefix(scheme, "rediss")
	single := "redis"
	if tlsOn {
		single = "rediss"
	}
	u, err := parseURL(single + "://" + userinfo + "placeholder" + tail)
	if err != nil {
		return ClientConfig{}, err
	}
	if u.Fragment != "" {
		return ClientConfig{}, errors.New("unexpected #fragment")
	}
	query := u.Query()
	var masterName, sentinelUser, sentinelPassword string
	switch topology {
	case Sentinel:
		path := strings.Split(strings.Trim(u.Path, "/"), "/")
		masterName = path[0]
		if masterName == "" {
			return ClientConfig{}, errors.New("no master name: want redis-sentinel://hosts/master[/db]")
		}
		u.Path = "/" + strings.Join(path[1:], "/")
		sentinelUser, sentinelPassword = query.Get("sentinel_username"), query.Get("sentinel_password")
		query.Del("sentinel_username")
		query.Del("sentinel_password")
	case Cluster:
		if strings.Trim(u.Path, "/") != "" {
			return ClientConfig{}, errors.New("a cluster URL has no path: Cluster has no databases")
		}
	}
	u.RawQuery = query.Encode()
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return ClientConfig{}, unquoted(err)
	}
	if topology == Cluster && opts.DB != 0 {
		return ClientConfig{}, errors.New("a cluster URL has no db: Cluster has no databases")
	}

	cfg := ClientConfig{Topology: topology, Options: universal(opts)}
	cfg.Options.Addrs = addrs
	cfg.Options.MasterName = masterName
	cfg.Options.SentinelUsername = sentinelUser
	cfg.Options.SentinelPassword = sentinelPassword
	if tlsOn {
		// No ServerName: each connection verifies the host it dials, not the first one listed.
		cfg.Options.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	// The query is left out: it may hold sentinel_password.
	redacted := url.URL{Scheme: scheme, User: u.User, Host: strings.Join(addrs, ",")}
	if topology == Sentinel {
		redacted.Path = "/" + masterName + strings.TrimSuffix(u.Path, "/")
	}
	cfg.Redacted = redacted.Redacted()
	return cfg, nil
}

// splitHosts reads "host[:port],host[:port]..." into addresses with ports.
func splitHosts(list, defaultPort string) ([]string, error) {
	if list == "" {
		return nil, errors.New("no host")
	}
	var addrs []string
	for _, h := range strings.Split(list, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: the whole entry is the host (brackets allowed around IPv6).
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), defaultPort
		}
		if host == "" || strings.ContainsAny(host, "[]/@ ") {
			return nil, fmt.Errorf("bad host %q in host list", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("bad port %q in host list", port)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	return addrs, nil
}

// validScheme reports whether s has the characters of a URL scheme, so that quoting it in an
// error cannot leak anything else.
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// parseURL is url.Parse without the URL in its errors.
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, unquoted(err)
	}
	return u, nil
}

// unquoted drops the URL that url.Parse puts into its errors.
func unquoted(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// universal carries the options go-redis read from a one-server URL over to UniversalOptions.
func universal(o *redis.Options) redis.UniversalOptions {
	return redis.UniversalOptions{
		Addrs:           []string{o.Addr},
		Protocol:        o.Protocol,
		ClientName:      o.ClientName,
		DB:              o.DB,
		Username:        o.Username,
		Password:        o.Password,
		MaxRetries:      o.MaxRetries,
		MinRetryBackoff: o.MinRetryBackoff,
		MaxRetryBackoff: o.MaxRetryBackoff,
		DialTimeout:     o.DialTimeout,
		ReadTimeout:     o.ReadTimeout,
		WriteTimeout:    o.WriteTimeout,
		PoolFIFO:        o.PoolFIFO,
		PoolSize:        o.PoolSize,
		PoolTimeout:     o.PoolTimeout,
		MinIdleConns:    o.MinIdleConns,
		MaxIdleConns:    o.MaxIdleConns,
		MaxActiveConns:  o.MaxActiveConns,
		ConnMaxIdleTime: o.ConnMaxIdleTime,
		ConnMaxLifetime: o.ConnMaxLifetime,
		TLSConfig:       o.TLSConfig,
	}
}
