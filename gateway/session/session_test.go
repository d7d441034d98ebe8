package session_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/session"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storetest"
	"github.com/portalgate/portalgate/tenants"
)

var lakeside = session.Data{
	Network: "lakeside", Issuer: "https://idp.example/lakeside", Subject: "sub-123",
	IDTokenHint: "header.payload.signature",
}

func newManager(t *testing.T, kv store.KV, c *clock) *session.Manager {
	t.Helper()
	m, err := session.NewManager(kv, session.Options{Now: c.Now, Policy: fixedPolicy(testPolicy)})
	must(t, err)
	return m
}

func TestCreateStoresOnlyTheHash(t *testing.T) {
	c := newClock()
	kv := storetest.Bolt(t, c.Now)
	m := newManager(t, kv, c)

	token, s, err := m.Create(t.Context(), lakeside)
	must(t, err)
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %d chars is not 32 bytes of base64url: %v", len(token), err)
	}
	sum := sha256.Sum256([]byte(token))
	if want := hex.EncodeToString(sum[:]); s.ID != want {
		t.Errorf("ID = %s, want the token's SHA-256 %s", s.ID, want)
	}
	want := session.Session{
		ID: s.ID, Network: "lakeside", Issuer: lakeside.Issuer, Subject: "sub-123",
		IDTokenHint: lakeside.IDTokenHint, Created: t0, LastActive: t0, ExpiresAt: t0.Add(20 * time.Minute),
	}
	if *s != want {
		t.Errorf("session = %+v\nwant      %+v", *s, want)
	}

	var keys []string
	must(t, kv.Scan(t.Context(), "", func(k string, v []byte) error {
		keys = append(keys, k)
		if strings.Contains(k, token) || bytes.Contains(v, []byte(token)) {
			t.Errorf("the token itself is stored under %s", k)
		}
		return nil
	}))
	if len(keys) != 1 || keys[0] != "session/"+s.ID {
		t.Errorf("keys = %q, want [session/%s]", keys, s.ID)
	}

	// Two sessions never share a token.
	other, _, err := m.Create(t.Context(), lakeside)
	must(t, err)
	if other == token {
		t.Error("two sessions got the same token")
	}
}

func TestCreateRefusesIncompleteData(t *testing.T) {
	c := newClock()
	m := newManager(t, storetest.Bolt(t, c.Now), c)
	for name, d := range map[string]session.Data{
		"no network":      {Issuer: "i", Subject: "s"},
		"no issuer":       {Network: "lakeside", Subject: "s"},
		"no subject":      {Network: "lakeside", Issuer: "i"},
		"unknown network": {Network: "elsewhere", Issuer: "i", Subject: "s"},
	} {
		if _, _, err := m.Create(t.Context(), d); err == nil {
			t.Errorf("%s: created", name)
		}
	}
}

func TestIdleAndAbsoluteBoundaries(t *testing.T) {
	tests := []struct {
		name string
		// touches are the offsets from sign-in of earlier lookups.
		touches []time.Duration
		at      time.Duration
		alive   bool
	}{
		{name: "fresh", at: 0, alive: true},
		{name: "idle just short", at: 20*time.Minute - time.Nanosecond, alive: true},
		{name: "idle exactly", at: 20 * time.Minute, alive: false},
		{name: "idle long past", at: 3 * time.Hour, alive: false},
		{name: "idle counts from the last touch", touches: []time.Duration{15 * time.Minute}, at: 35*time.Minute - time.Nanosecond, alive: true},
		{name: "idle after the last touch", touches: []time.Duration{15 * time.Minute}, at: 35 * time.Minute, alive: false},
		{name: "busy just short of the lifetime", touches: []time.Duration{15 * time.Minute, 30 * time.Minute, 45 * time.Minute}, at: time.Hour - time.Nanosecond, alive: true},
		{name: "busy at the lifetime", touches: []time.Duration{15 * time.Minute, 30 * time.Minute, 45 * time.Minute, time.Hour - time.Second}, at: time.Hour, alive: false},
		{name: "clock before sign-in", at: -time.Minute, alive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			m := newManager(t, storetest.Bolt(t, c.Now), c)
			token, _, err := m.Create(t.Context(), lakeside)
			must(t, err)
			for _, d := range tt.touches {
				c.Set(t0.Add(d))
				_, err := m.Lookup(t.Context(), token)
				must(t, err)
			}
			c.Set(t0.Add(tt.at))
			s, err := m.Lookup(t.Context(), token)
			switch {
			case tt.alive && err != nil:
				t.Fatalf("Lookup at +%v: %v, want a live session", tt.at, err)
			case !tt.alive && !errors.Is(err, session.ErrNoSession):
				t.Fatalf("Lookup at +%v = %+v, %v; want ErrNoSession", tt.at, s, err)
			}
		})
	}
}

func TestExpiresAtIsTheEarlierLimit(t *testing.T) {
	c := newClock()
	m := newManager(t, storetest.Bolt(t, c.Now), c)
	token, _, err := m.Create(t.Context(), lakeside)
	must(t, err)
	// Idle expiry first, then the absolute lifetime once it is nearer.
	for _, d := range []time.Duration{15, 30, 45, 50} {
		c.Set(t0.Add(d * time.Minute))
		s, err := m.Lookup(t.Context(), token)
		must(t, err)
		want := t0.Add(min(d*time.Minute+20*time.Minute, time.Hour))
		if !s.ExpiresAt.Equal(want) {
			t.Errorf("at +%dm ExpiresAt = %v, want %v", d, s.ExpiresAt, want)
		}
	}
}

func TestStoreDropsSessionsWhenTheyEnd(t *testing.T) {
	c := newClock()
	kv := storetest.Bolt(t, c.Now)
	m := newManager(t, kv, c)
	_, s, err := m.Create(t.Context(), lakeside)
	must(t, err)
	c.Set(t0.Add(20*time.Minute - time.Millisecond))
	if _, err := kv.Get(t.Context(), "session/"+s.ID); err != nil {
		t.Fatalf("stored session gone before its idle timeout: %v", err)
	}
	c.Set(t0.Add(20 * time.Minute))
	if _, err := kv.Get(t.Context(), "session/"+s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stored session outlives its idle timeout: %v", err)
	}
}

func TestTouchIsThrottled(t *testing.T) {
	c := newClock()
	kv := &countingKV{KV: storetest.Bolt(t, c.Now)}
	m := newManager(t, kv, c)
	token, _, err := m.Create(t.Context(), lakeside)
	must(t, err)

	steps := []struct {
		at             time.Duration
		wantWrites     int64
		wantLastActive time.Duration
	}{
		{at: 0, wantWrites: 0, wantLastActive: 0},
		{at: 30 * time.Second, wantWrites: 0, wantLastActive: 0},
		{at: time.Minute - time.Nanosecond, wantWrites: 0, wantLastActive: 0},
		{at: time.Minute, wantWrites: 1, wantLastActive: time.Minute},
		{at: time.Minute + 59*time.Second, wantWrites: 1, wantLastActive: time.Minute},
		{at: 2 * time.Minute, wantWrites: 2, wantLastActive: 2 * time.Minute},
	}
	for _, st := range steps {
		c.Set(t0.Add(st.at))
		s, err := m.Lookup(t.Context(), token)
		must(t, err)
		if got := kv.swapped.Load(); got != st.wantWrites {
			t.Errorf("after a lookup at +%v: %d writes, want %d", st.at, got, st.wantWrites)
		}
		if !s.LastActive.Equal(t0.Add(st.wantLastActive)) {
			t.Errorf("at +%v LastActive = +%v, want +%v", st.at, s.LastActive.Sub(t0), st.wantLastActive)
		}
	}

	// The documented cost of throttling: idle time counts from the recorded
	// activity (+2m), not from the unrecorded one at +2m59s.
	c.Set(t0.Add(2*time.Minute + 59*time.Second))
	_, err = m.Lookup(t.Context(), token)
	must(t, err)
	c.Set(t0.Add(22 * time.Minute))
	if _, err := m.Lookup(t.Context(), token); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("idle timeout measured past the recorded activity: %v", err)
	}
}

func TestTouchNeverRevivesASignedOutSession(t *testing.T) {
	c := newClock()
	kv := &countingKV{KV: storetest.Bolt(t, c.Now)}
	m := newManager(t, kv, c)
	token, _, err := m.Create(t.Context(), lakeside)
	must(t, err)
	c.Advance(5 * time.Minute)
	// Logout lands between the lookup's read and its write.
	kv.beforeSwap = func(string) { must(t, m.Delete(t.Context(), token)) }
	if _, err := m.Lookup(t.Context(), token); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Lookup racing a logout: %v, want ErrNoSession", err)
	}
	kv.beforeSwap = nil
	if _, err := m.Lookup(t.Context(), token); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("signed-out session revived: %v", err)
	}
}

func TestLookupRefusesJunkWithoutAStoreCall(t *testing.T) {
	c := newClock()
	kv := &countingKV{KV: storetest.Bolt(t, c.Now)}
	m := newManager(t, kv, c)
	token, _, err := m.Create(t.Context(), lakeside)
	must(t, err)
	for name, junk := range map[string]string{
		"empty":       "",
		"short":       "abc",
		"padded":      token + "=",
		"std base64":  strings.Repeat("+", 43),
		"long":        token + "A",
		"spaces":      strings.Repeat(" ", 43),
		"non-ascii":   strings.Repeat("é", 22)[:43],
		"bad last ch": token[:42] + "B", // 43rd char carries bits past 256
	} {
		if _, err := m.Lookup(t.Context(), junk); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("%s: %v, want ErrNoSession", name, err)
		}
	}
	if n := kv.gets.Load(); n != 0 {
		t.Errorf("junk tokens cost %d store reads", n)
	}
	// A well-formed token nobody issued costs a read and is refused.
	unknown := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if _, err := m.Lookup(t.Context(), unknown); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("unknown token: %v", err)
	}
}

func TestRemovedNetworkEndsItsSessions(t *testing.T) {
	c := newClock()
	kv := storetest.Bolt(t, c.Now)
	known := true
	m, err := session.NewManager(kv, session.Options{Now: c.Now, Policy: func(string) (tenants.SessionPolicy, bool) {
		return testPolicy, known
	}})
	must(t, err)
	token, _, err := m.Create(t.Context(), lakeside)
	must(t, err)
	known = false
	if _, err := m.Lookup(t.Context(), token); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("session of a removed network: %v", err)
	}
}

func TestDefaultPolicyIsTheSeed(t *testing.T) {
	c := newClock()
	m, err := session.NewManager(storetest.Bolt(t, c.Now), session.Options{Now: c.Now})
	must(t, err)
	_, s, err := m.Create(t.Context(), lakeside)
	must(t, err)
	if want := t0.Add(20 * time.Minute); !s.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want the seed's 20 minutes idle: %v", s.ExpiresAt, want)
	}
	if _, err := session.NewManager(nil, session.Options{}); err == nil {
		t.Error("a manager without a store was built")
	}
}

func TestPolicyFromNetworks(t *testing.T) {
	cfg := &tenants.Config{Networks: []*tenants.Network{{ID: "lakeside", Policy: tenants.Policy{Session: testPolicy}}}}
	policy := session.PolicyFromNetworks(cfg.Network)
	if p, ok := policy("lakeside"); !ok || p != testPolicy {
		t.Errorf("lakeside: %+v, %v", p, ok)
	}
	if _, ok := policy("elsewhere"); ok {
		t.Error("unknown network has a policy")
	}
}

func TestBind(t *testing.T) {
	c := newClock()
	m := newManager(t, storetest.Bolt(t, c.Now), c)
	token, s, err := m.Create(t.Context(), lakeside)
	must(t, err)
	if s.Account != "" {
		t.Fatalf("fresh session bound to %q", s.Account)
	}
	c.Advance(10 * time.Second)
	must(t, m.Bind(t.Context(), token, "acct-1"))
	s, err = m.Lookup(t.Context(), token)
	must(t, err)
	if s.Account != "acct-1" || !s.LastActive.Equal(t0.Add(10*time.Second)) {
		t.Errorf("after Bind: account %q, last active %v", s.Account, s.LastActive)
	}
	if err := m.Bind(t.Context(), token, ""); err == nil {
		t.Error("bound to an empty account")
	}
	must(t, m.Delete(t.Context(), token))
	if err := m.Bind(t.Context(), token, "acct-1"); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Bind of a deleted session: %v", err)
	}
	if err := m.Bind(t.Context(), "junk", "acct-1"); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("Bind of junk: %v", err)
	}
}

func TestDelete(t *testing.T) {
	c := newClock()
	m := newManager(t, storetest.Bolt(t, c.Now), c)
	token, _, err := m.Create(t.Context(), lakeside)
	must(t, err)
	must(t, m.Delete(t.Context(), token))
	if _, err := m.Lookup(t.Context(), token); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("deleted session: %v", err)
	}
	must(t, m.Delete(t.Context(), token))
	must(t, m.Delete(t.Context(), "not a token"))
}

func TestRotate(t *testing.T) {
	engines(t, func(t *testing.T, kv store.KV, c *clock) {
		m := newManager(t, kv, c)
		// A token planted before sign-in...
		planted, _, err := m.Create(t.Context(), session.Data{Network: "lakeside", Issuer: "https://idp.example/lakeside", Subject: "attacker"})
		must(t, err)
		// ...is replaced at login.
		fresh, s, err := m.Rotate(t.Context(), planted, lakeside)
		must(t, err)
		if fresh == planted {
			t.Fatal("Rotate kept the old token")
		}
		if _, err := m.Lookup(t.Context(), planted); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("old token still works: %v", err)
		}
		got, err := m.Lookup(t.Context(), fresh)
		must(t, err)
		if got.Subject != "sub-123" || got.ID != s.ID {
			t.Errorf("new session = %+v", got)
		}
		// No old session, or junk: Rotate is just Create.
		for _, old := range []string{"", "junk"} {
			if _, _, err := m.Rotate(t.Context(), old, lakeside); err != nil {
				t.Errorf("Rotate(%q): %v", old, err)
			}
		}
	})
}

func TestConcurrentLookupsWriteOnce(t *testing.T) {
	engines(t, func(t *testing.T, kv store.KV, c *clock) {
		counted := &countingKV{KV: kv}
		m := newManager(t, counted, c)
		token, _, err := m.Create(t.Context(), lakeside)
		must(t, err)
		c.Advance(2 * time.Minute)

		const readers = 32
		var wg sync.WaitGroup
		errs := make(chan error, readers)
		for range readers {
			wg.Go(func() {
				s, err := m.Lookup(t.Context(), token)
				if err == nil && s.Subject != "sub-123" {
					err = errors.New("wrong session")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if n := counted.swapped.Load(); n != 1 {
			t.Errorf("%d concurrent lookups wrote %d times, want 1", readers, n)
		}
	})
}

func TestBindIsNotLostToConcurrentTouches(t *testing.T) {
	engines(t, func(t *testing.T, kv store.KV, c *clock) {
		m := newManager(t, kv, c)
		for round := range 10 {
			token, _, err := m.Create(t.Context(), lakeside)
			must(t, err)
			c.Advance(2 * time.Minute)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					if _, err := m.Lookup(t.Context(), token); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Go(func() {
				if err := m.Bind(t.Context(), token, "acct-1"); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			s, err := m.Lookup(t.Context(), token)
			must(t, err)
			if s.Account != "acct-1" {
				t.Fatalf("round %d: Bind lost to a concurrent touch", round)
			}
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	c := &clock{now: t0}
	m, err := session.NewManager(storetest.Bolt(b, c.Now), session.Options{Now: c.Now, Policy: fixedPolicy(testPolicy)})
	must(b, err)
	token, _, err := m.Create(b.Context(), lakeside)
	must(b, err)
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Lookup(b.Context(), token); err != nil {
			b.Fatal(err)
		}
	}
}
