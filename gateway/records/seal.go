package records

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A sealed cache value is
//
//	version (1 byte) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// The key id, a hash prefix of the key, says which key opens it, so that rotation costs no
// trial decryptions. The storage key is the additional data: a value copied under another
// key, such as another patient's, does not open.
const (
	sealVersion  = 1
	keyIDSize    = 4
	nonceSize    = 12
	sealOverhead = 1 + keyIDSize + nonceSize + 16
	// CacheKeySize is the size of every Options.CacheKeys key: AES-256.
	CacheKeySize = 32
)

var errUnsealable = errors.New("records: cache value cannot be opened")

// sealer seals with its first key and opens with any.
type sealer struct {
	keys []sealKey
}

type sealKey struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

func newSealer(keys [][]byte) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("records: Options.CacheKeys is empty; the cache holds clinical data and must be encrypted")
	}
	s := &sealer{keys: make([]sealKey, len(keys))}
	for i, k := range keys {
		if len(k) != CacheKeySize {
			return nil, fmt.Errorf("records: cache key %d is %d bytes; AES-256 needs %d", i, len(k), CacheKeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("records: cache key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("records: cache key %d: %w", i, err)
		}
		sum := sha256.Sum256(append([]byte("portalgate records cache key\x00"), k...))
		s.keys[i] = sealKey{id: [keyIDSize]byte(sum[:keyIDSize]), aead: aead}
	}
	return s, nil
}

func (s *sealer) seal(plain, aad []byte) ([]byte, error) {
	k := s.keys[0]
	out := make([]byte, 1+keyIDSize+nonceSize, sealOverhead+len(plain))
	out[0] = sealVersion
	copy(out[1:], k.id[:])
	nonce := out[1+keyIDSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("records: sealing a cache value: %w", err)
	}
	return k.aead.Seal(out, nonce, plain, aad), nil
}

func (s *sealer) open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: not a sealed value", errUnsealable)
	}
	id := sealed[1 : 1+keyIDSize]
	nonce := sealed[1+keyIDSize : 1+keyIDSize+nonceSize]
	body := sealed[1+keyIDSize+nonceSize:]
	for _, k := range s.keys {
		if string(k.id[:]) != string(id) {
			continue
		}
		// Two keys may share an id: try each that does.
		if plain, err := k.aead.Open(nil, nonce, body, aad); err == nil {
			return plain, nil
		}
	}
	return nil, fmt.Errorf("%w: no configured key opens it", errUnsealable)
}

// An entry is what a sealed value holds:
//
//	expiry (8 bytes, Unix nanoseconds, big-endian)
//	flags (1 byte): 1 when the answer is incomplete
//	matches:  count (uvarint), then per resource its length (uvarint) and bytes
//	includes: the same
//
// The expiry is kept inside so that it holds whatever the engine's clock says.

const flagIncomplete = 1

var errBadEntry = errors.New("records: cache entry is corrupt")

func encodeEntry(expires time.Time, f *found) []byte {
	lists := [][]json.RawMessage{f.matches, f.includes}
	size := 8 + 1
	for _, list := range lists {
		size += binary.MaxVarintLen64
		for _, r := range list {
			size += binary.MaxVarintLen64 + len(r)
		}
	}
	b := make([]byte, 8, size)
	binary.BigEndian.PutUint64(b, uint64(expires.UnixNano()))
	var flags byte
	if f.incomplete {
		flags |= flagIncomplete
	}
	b = append(b, flags)
	for _, list := range lists {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, r := range list {
			b = binary.AppendUvarint(b, uint64(len(r)))
			b = append(b, r...)
		}
	}
	return b
}

// decodeEntry reads an entry; the resources it returns share b's memory.
func decodeEntry(b []byte) (time.Time, *found, error) {
	if len(b) < 9 || b[8]&^flagIncomplete != 0 {
		return time.Time{}, nil, errBadEntry
	}
	expires := time.Unix(0, int64(binary.BigEndian.Uint64(b)))
	f := &found{incomplete: b[8]&flagIncomplete != 0}
	b = b[9:]
	for _, list := range []*[]json.RawMessage{&f.matches, &f.includes} {
		n, k := binary.Uvarint(b)
		// Every resource takes at least one byte of length: a count beyond what is left
		// is corrupt, and must not size an allocation.
		if k <= 0 || n > uint64(len(b)-k) {
			return time.Time{}, nil, errBadEntry
		}
		b = b[k:]
		*list = make([]json.RawMessage, n)
		for i := range *list {
			size, k := binary.Uvarint(b)
			if k <= 0 || size > uint64(len(b)-k) {
				return time.Time{}, nil, errBadEntry
			}
			b = b[k:]
			(*list)[i] = json.RawMessage(b[:size:size])
			b = b[size:]
		}
	}
	if len(b) != 0 {
		return time.Time{}, nil, errBadEntry
	}
	return expires, f, nil
}
