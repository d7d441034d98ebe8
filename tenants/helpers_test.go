package tenants

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testNow is the fixed clock of these tests: a Sunday.
var testNow = time.Date(2026, time.November, 22, 12, 0, 0, 0, time.UTC)

var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// jwkJSON returns a JWK of key as JSON.
func jwkJSON(t testing.TB, key any, alg string) string {
	t.Helper()
	b, err := jose.JSONWebKey{Key: key, KeyID: "test", Algorithm: alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testECKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testOptions isolate a load from the environment and the wall clock.
func testOptions(t testing.TB, vars map[string]string) []LoadOption {
	all := map[string]string{"SANDBOX_URL": "http://127.0.0.1:8080"}
	for k, v := range vars {
		all[k] = v
	}
	return []LoadOption{WithEnv(nil), WithVars(all), WithClock(func() time.Time { return testNow })}
}

func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }
