package smart

import (
	"context"
	"slices"
	"testing"

	"github.com/portalgate/portalgate/adapters/internal/fixture"
	"github.com/portalgate/portalgate/adapters/internal/platformtest"
)

// TestSearchedAsWritten sends what other platforms reshape or refuse as it
// is given: a plain R4 server takes it.
func TestSearchedAsWritten(t *testing.T) {
	up := platformtest.Open(t, "smart", fixture.Patient("p1"),
		fixture.Observation("o1", "p1", "2025-08-10T00:00:00Z", "laboratory"),
		fixture.Observation("o2", "p1", "2025-01-10T00:00:00Z", "vital-signs"),
		fixture.MedicationRequest("m1", "p1", "order"))
	for _, tc := range []struct {
		typ   string
		query []string
		want  []string
	}{
		{"Observation", []string{"patient", "p1"}, []string{"Observation/o1", "Observation/o2"}},
		{"Observation", []string{"patient", "p1", "date", "ge2025", "_lastUpdated", "ge2025-08-01"}, []string{"Observation/o1"}},
		{"Observation", []string{"_count", "500"}, []string{"Observation/o1", "Observation/o2"}},
		{"MedicationRequest", []string{"patient", "p1"}, []string{"MedicationRequest/m1"}},
	} {
		up.Sent.Reset()
		q := fixture.Values(tc.query...)
		res, err := up.Adapter.Search(context.Background(), tc.typ, q)
		if err != nil {
			t.Fatalf("%s?%s: %v", tc.typ, q.Encode(), err)
		}
		if got := fixture.IDs(t, res.Matches); !slices.Equal(got, tc.want) {
			t.Errorf("%s?%s: matches = %v, want %v", tc.typ, q.Encode(), got, tc.want)
		}
		if sent := up.Sent.Requests("/" + tc.typ); len(sent) != 1 || sent[0].Query.Encode() != q.Encode() {
			t.Errorf("%s?%s: upstream got %v; want the search as given", tc.typ, q.Encode(), sent)
		}
	}
}
