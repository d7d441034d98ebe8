package idp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const rsaKeyBits = 2048

// keyring holds the current signing key and the retired ones whose public
// halves are still published.
type keyring struct {
	now func() time.Time

	mu      sync.RWMutex
	current *signingKey
	retired []retiredKey
}

type retiredKey struct {
	key *signingKey
	// until is when no token it signed can still be valid.
	until time.Time
}

func newKeyring(now func() time.Time) (*keyring, error) {
	k, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	return &keyring{now: now, current: k}, nil
}

func (r *keyring) rotate() error {
	next, err := newSigningKey()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retired = append(r.retired, retiredKey{key: r.current, until: r.now().Add(IDTokenLifetime)})
	r.current = next
	return nil
}

func (r *keyring) signingKey() *signingKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.current
}

// publicKeys lists the current key first, then the retired keys still in
// use, dropping those whose tokens have all expired.
func (r *keyring) publicKeys() []op.Key {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := []op.Key{publicKey{r.current}}
	kept := r.retired[:0]
	for _, rk := range r.retired {
		if now.Before(rk.until) {
			kept = append(kept, rk)
			keys = append(keys, publicKey{rk.key})
		}
	}
	clear(r.retired[len(kept):])
	r.retired = kept
	return keys
}

// signingKey is an RS256 key as op.SigningKey. Its id is the RFC 7638
// thumbprint of the public key.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

var _ op.SigningKey = (*signingKey)(nil)

func newSigningKey() (*signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, rsaKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generating an RSA signing key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("computing the signing key id: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), key: key}, nil
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the public half of a signingKey as op.Key, for the JWKS.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

// Storage's key methods, served from the keyring.

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.keys.signingKey(), nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return s.keys.publicKeys(), nil
}
