package redisstore

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/portalgate/portalgate/gateway/store"
)

// idPart is the width of each half of an entry ID: every uint64 fits, and zero padding makes
// string order equal stream order.
const idPart = 20

// entryID turns a Redis stream ID ("1700000000000-3") into the port's sortable form.
func entryID(streamID string) (string, error) {
	ms, seq, ok := strings.Cut(streamID, "-")
	if !ok {
		return "", fmt.Errorf("unexpected stream id %q from Redis", streamID)
	}
	m, err1 := strconv.ParseUint(ms, 10, 64)
	n, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("unexpected stream id %q from Redis", streamID)
	}
	return fmt.Sprintf("%0*d-%0*d", idPart, m, idPart, n), nil
}

var errBadID = fmt.Errorf("%w: entry id must be two %d-digit numbers joined by '-'", store.ErrInvalid, idPart)

// streamID turns an entry ID back into a Redis stream ID; anything entryID did not produce is
// store.ErrInvalid.
func streamID(id string) (string, error) {
	if len(id) != 2*idPart+1 || id[idPart] != '-' {
		return "", errBadID
	}
	parts := [2]string{id[:idPart], id[idPart+1:]}
	var nums [2]uint64
	for i, p := range parts {
		for j := 0; j < len(p); j++ {
			if p[j] < '0' || p[j] > '9' {
				return "", errBadID
			}
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return "", errBadID
		}
		nums[i] = n
	}
	return strconv.FormatUint(nums[0], 10) + "-" + strconv.FormatUint(nums[1], 10), nil
}
