package redisstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url      string
		topology Topology
		addrs    []string
		check    func(t *testing.T, c ClientConfig)
		redacted string
	}{
		{
			url: "redis://localhost:6379/0", topology: Single, addrs: []string{"localhost:6379"},
			redacted: "redis://localhost:6379/0",
		},
		{
			url: "redis://:pw@cache/3?dial_timeout=3s&pool_size=20", topology: Single, addrs: []string{"cache:6379"},
			check: func(t *testing.T, c ClientConfig) {
				o := c.Options
				if o.Password != "pw" || o.DB != 3 || o.DialTimeout != 3*time.Second || o.PoolSize != 20 {
					t.Errorf("options %+v", o)
				}
			},
			redacted: "redis://:xxxxx@cache/3?dial_timeout=3s&pool_size=20",
		},
		{
			url: "rediss://app:pw@cache.example:6380", topology: Single, addrs: []string{"cache.example:6380"},
			check: func(t *testing.T, c ClientConfig) {
				if c.Options.TLSConfig == nil || c.Options.TLSConfig.ServerName != "cache.example" || c.Options.Username != "app" {
					t.Errorf("TLS %+v, user %q", c.Options.TLSConfig, c.Options.Username)
				}
			},
			redacted: "rediss://app:xxxxx@cache.example:6380",
		},
		{
			url:      "redis-sentinel://:pw@s1,s2:26380/mymaster/2?sentinel_password=spw&read_timeout=2s",
			topology: Sentinel, addrs: []string{"s1:26379", "s2:26380"},
			check: func(t *testing.T, c ClientConfig) {
				o := c.Options
				if o.MasterName != "mymaster" || o.DB != 2 || o.Password != "pw" || o.SentinelPassword != "spw" ||
					o.ReadTimeout != 2*time.Second || o.TLSConfig != nil {
					t.Errorf("options %+v", o)
				}
			},
			redacted: "redis-sentinel://:xxxxx@s1:26379,s2:26380/mymaster/2",
		},
		{
			url: "redis-sentinel://s1/mymaster", topology: Sentinel, addrs: []string{"s1:26379"},
			check: func(t *testing.T, c ClientConfig) {
				if c.Options.MasterName != "mymaster" || c.Options.DB != 0 {
					t.Errorf("options %+v", c.Options)
				}
			},
			redacted: "redis-sentinel://s1:26379/mymaster",
		},
		{
			url: "rediss-sentinel://u:pw@s1:1,s2:2/m?sentinel_username=su", topology: Sentinel, addrs: []string{"s1:1", "s2:2"},
			check: func(t *testing.T, c ClientConfig) {
				// Each connection must verify the host it dials: no fixed ServerName.
				if c.Options.TLSConfig == nil || c.Options.TLSConfig.ServerName != "" || c.Options.SentinelUsername != "su" {
					t.Errorf("TLS %+v, sentinel user %q", c.Options.TLSConfig, c.Options.SentinelUsername)
				}
			},
			redacted: "rediss-sentinel://u:xxxxx@s1:1,s2:2/m",
		},
		{
			url: "redis-cluster://u:pw@n1:7000,n2:7001,[::1]:7002,n4", topology: Cluster,
			addrs: []string{"n1:7000", "n2:7001", "[::1]:7002", "n4:6379"},
			check: func(t *testing.T, c ClientConfig) {
				if c.Options.Username != "u" || c.Options.Password != "pw" {
					t.Errorf("options %+v", c.Options)
				}
			},
			redacted: "redis-cluster://u:xxxxx@n1:7000,n2:7001,[::1]:7002,n4:6379",
		},
		{
			url: "rediss-cluster://n1:7000/?pool_size=5", topology: Cluster, addrs: []string{"n1:7000"},
			check: func(t *testing.T, c ClientConfig) {
				if c.Options.TLSConfig == nil || c.Options.TLSConfig.ServerName != "" || c.Options.PoolSize != 5 {
					t.Errorf("options %+v", c.Options)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := ParseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if c.Topology != tt.topology || !slices.Equal(c.Options.Addrs, tt.addrs) {
				t.Fatalf("got %s %q, want %s %q", c.Topology, c.Options.Addrs, tt.topology, tt.addrs)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			if tt.redacted != "" && c.Redacted != tt.redacted {
				t.Errorf("Redacted = %q, want %q", c.Redacted, tt.redacted)
			}
			client := c.NewClient() // builds without dialing
			_ = client.Close()
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, raw := range []string{
		"",
		"localhost:6379",
		"http://cache",
		"unix:///tmp/redis.sock",
		"redis://",
		"redis://:hunter2@cache/notadb",
		"redis://:hunter2@cache?bogus=1",
		"redis://:hunter2@cache:badport",
		"redis-sentinel://:hunter2@s1",
		"redis-sentinel://:hunter2@s1/",
		"redis-sentinel://:hunter2@s1:notaport/m",
		"redis-sentinel://:hunter2@s1:70000/m",
		"redis-sentinel://:hunter2@s1/m/x",
		"redis-sentinel://:hunter2@/m",
		"redis-cluster://:hunter2@n1/1",
		"redis-cluster://:hunter2@n1?db=2",
		"redis-cluster://:hunter2@,n1",
		"redis-cluster://:hunter2@n1#frag",
		"redis-cluster://:hunter2@n 1",
		"redis-cluster://:hun%zzter2@n1",
	} {
		t.Run(raw, func(t *testing.T) {
			c, err := ParseURL(raw)
			if err == nil {
				t.Fatalf("ParseURL accepted it: %+v", c)
			}
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hun%zzter2") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, seed := range []struct{ scheme, hosts, rest string }{
		{"redis", "cache:6379", "/0"},
		{"rediss", "cache", "?dial_timeout=1s"},
		{"redis-sentinel", "s1,s2:26380", "/master/1?sentinel_password=x"},
		{"redis-cluster", "n1:7000,[::1]:7001", ""},
		{"redis-cluster", "n1", "/#x"},
		{"http", "x", ""},
	} {
		f.Add(seed.scheme, seed.hosts, seed.rest)
	}
	const password = "Zq9secretZq9"
	f.Fuzz(func(t *testing.T, scheme, hosts, rest string) {
		if strings.Contains(scheme+hosts+rest, "Zq9") {
			return
		}
		raw := scheme + "://user:" + password + "@" + hosts + rest
		c, err := ParseURL(raw)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("ParseURL(%q) error %v does not wrap ErrInvalid", raw, err)
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("ParseURL(%q) error %q reveals the password", raw, err)
			}
			return
		}
		if strings.Contains(c.Redacted, password) {
			t.Fatalf("Redacted %q reveals the password", c.Redacted)
		}
		if len(c.Options.Addrs) == 0 {
			t.Fatalf("ParseURL(%q) gave no address", raw)
		}
	})
}

func TestEntryIDs(t *testing.T) {
	for _, id := range []string{"0-1", "1-0", "1700000000000-9", "18446744073709551615-18446744073709551615"} {
		e, err := entryID(id)
		if err != nil {
			t.Fatalf("entryID(%q): %v", id, err)
		}
		back, err := streamID(e)
		if err != nil || back != id {
			t.Fatalf("streamID(entryID(%q)) = %q, %v", id, back, err)
		}
	}
	a, _ := entryID("1700000000000-9")
	b, _ := entryID("1700000000000-10")
	c, _ := entryID("1700000000001-0")
	if !(a < b && b < c) {
		t.Fatalf("entry IDs do not sort in stream order: %q %q %q", a, b, c)
	}
	for _, bad := range []string{"", "1-1", "x", strings.Repeat("0", 41), strings.Repeat("0", 20) + "-" + strings.Repeat("9", 20)} {
		if _, err := streamID(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("streamID(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := entryID("garbage"); err == nil {
		t.Error("entryID accepted a malformed stream ID")
	}
}

func FuzzStreamID(f *testing.F) {
	f.Add("00000001700000000000-00000000000000000009")
	f.Add("99999999999999999999-00000000000000000000")
	f.Add("-")
	f.Fuzz(func(t *testing.T, id string) {
		sid, err := streamID(id)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("streamID(%q) error %v does not wrap ErrInvalid", id, err)
			}
			return
		}
		back, err := entryID(sid)
		if err != nil || back != id {
			t.Fatalf("entryID(streamID(%q)) = %q, %v", id, back, err)
		}
	})
}
