package idp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// sealer is the op.Crypto that turns authorization request ids into codes
// and "tokenID:subject" into opaque access tokens. It replaces the
// library's default, AES-CFB, which is unauthenticated: a holder could flip
// bits of a token's subject. AES-GCM rejects any altered value.
type sealer struct{ aead cipher.AEAD }

var _ op.Crypto = (*sealer)(nil)

var errUnsealable = errors.New("value was not sealed by this provider")

func newSealer() (*sealer, error) {
	key := randomKey()
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("creating the sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating the sealing cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// Encrypt seals s under a random nonce: base64url(nonce || ciphertext).
func (c *sealer) Encrypt(s string) (string, error) {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(s)+c.aead.Overhead())
	rand.Read(nonce) // never fails: crypto/rand.Read crashes the program instead
	return base64.RawURLEncoding.EncodeToString(c.aead.Seal(nonce, nonce, []byte(s), nil)), nil
}

// Decrypt opens a value Encrypt produced and rejects anything else.
func (c *sealer) Decrypt(s string) (string, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) < c.aead.NonceSize()+c.aead.Overhead() {
		return "", errUnsealable
	}
	nonce, sealed := raw[:c.aead.NonceSize()], raw[c.aead.NonceSize():]
	plain, err := c.aead.Open(nil, nonce, sealed, nil)
	if err != nil {
		return "", errUnsealable
	}
	return string(plain), nil
}
