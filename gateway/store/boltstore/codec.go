package boltstore

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

// idDigits is the width of an entry ID: every uint64 sequence fits, and zero padding makes
// string order equal numeric order.
const idDigits = 20

// formatID turns a log sequence number into an entry ID.
func formatID(seq uint64) string {
	return fmt.Sprintf("%0*d", idDigits, seq)
}

// parseID turns an entry ID back into a sequence number; anything Append did not issue is
// ErrInvalid.
func parseID(id string) (uint64, error) {
	if len(id) != idDigits {
		return 0, fmt.Errorf("%w: entry id must be %d digits", store.ErrInvalid, idDigits)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return 0, fmt.Errorf("%w: entry id must be %d digits", store.ErrInvalid, idDigits)
		}
	}
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("%w: entry id out of range", store.ErrInvalid)
	}
	return seq, nil
}

// seqKey is the bucket key of a sequence number: big-endian, so bbolt's byte order is
// numeric order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

func keySeq(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// A kv record is the expiry in Unix nanoseconds (0 for none) followed by the value.
const recordHeader = 8

func encodeRecord(expiry int64, value []byte) []byte {
	rec := make([]byte, recordHeader, recordHeader+len(value))
	binary.BigEndian.PutUint64(rec, uint64(expiry))
	return append(rec, value...)
}

func recordExpiry(rec []byte) int64 { return int64(binary.BigEndian.Uint64(rec)) }

// liveValue returns the value of rec unless rec is missing, malformed or expired at now.
func liveValue(rec []byte, now int64) ([]byte, bool) {
	if len(rec) < recordHeader {
		return nil, false
	}
	if exp := recordExpiry(rec); exp != 0 && now >= exp {
		return nil, false
	}
	return rec[recordHeader:], true
}

// expiryAt is the record expiry of a key written at now with ttl.
func expiryAt(now time.Time, ttl time.Duration) int64 {
	if ttl == 0 {
		return 0
	}
	return now.Add(ttl).UnixNano()
}

// An expiry index key is the expiry followed by the key, so the sweeper walks keys in the
// order they expire.
func expiryIndexKey(expiry int64, key []byte) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(key)), uint64(expiry))
	return append(k, key...)
}

// A pending record tells when an entry was last delivered, how often, and to whom.
type pending struct {
	deliveredAt int64 // Unix nanoseconds
	deliveries  uint32
	consumer    string
}

func (p pending) encode() []byte {
	b := make([]byte, 12, 12+len(p.consumer))
	binary.BigEndian.PutUint64(b, uint64(p.deliveredAt))
	binary.BigEndian.PutUint32(b[8:], p.deliveries)
	return append(b, p.consumer...)
}

func decodePending(b []byte) (pending, bool) {
	if len(b) < 12 {
		return pending{}, false
	}
	return pending{
		deliveredAt: int64(binary.BigEndian.Uint64(b)),
		deliveries:  binary.BigEndian.Uint32(b[8:]),
		consumer:    string(b[12:]),
	}, true
}
