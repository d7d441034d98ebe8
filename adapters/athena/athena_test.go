package athena

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/adapters/internal/fixture"
	"github.com/portalgate/portalgate/adapters/internal/platformtest"
	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest"
)

// intents are the codes of FHIR R4's medicationrequest-intent value set.
var intents = []string{"proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option"}

func TestIntentAdded(t *testing.T) {
	resources := []string{fixture.Patient("p1"), fixture.Patient("p2"), fixture.MedicationRequest("other-patient", "p2", "order")}
	var want []string
	for _, intent := range intents {
		resources = append(resources, fixture.MedicationRequest("m-"+intent, "p1", intent))
		want = append(want, "MedicationRequest/m-"+intent)
	}
	slices.Sort(want)
	up := platformtest.Open(t, "athena", resources...)

	res, err := up.Adapter.Search(context.Background(), "MedicationRequest", fixture.Values("patient", "p1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fixture.IDs(t, res.Matches); !slices.Equal(got, want) {
		t.Errorf("matches = %v, want every intent: %v", got, want)
	}
	sent := up.Sent.Requests("/MedicationRequest")
	if len(sent) != 1 {
		t.Fatalf("upstream got %v; want one search", sent)
	}
	if got := strings.Split(sent[0].Query.Get("intent"), ","); !slices.Equal(got, intents) {
		t.Errorf("intent sent = %v, want every code of the value set", got)
	}
}

func TestCallersIntentKept(t *testing.T) {
	up := platformtest.Open(t, "athena", fixture.Patient("p1"),
		fixture.MedicationRequest("m-order", "p1", "order"),
		fixture.MedicationRequest("m-plan", "p1", "plan"))
	for _, tc := range []struct {
		query url.Values
		want  []string
	}{
		{fixture.Values("patient", "p1", "intent", "plan"), []string{"MedicationRequest/m-plan"}},
		{fixture.Values("patient", "p1", "intent:not", "plan"), []string{"MedicationRequest/m-order"}},
		{fixture.Values("patient", "p1", "intent", "order,plan"), []string{"MedicationRequest/m-order", "MedicationRequest/m-plan"}},
	} {
		up.Sent.Reset()
		res, err := up.Adapter.Search(context.Background(), "MedicationRequest", tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := fixture.IDs(t, res.Matches); !slices.Equal(got, tc.want) {
			t.Errorf("%s: matches = %v, want %v", tc.query.Encode(), got, tc.want)
		}
		if sent := up.Sent.Requests("/MedicationRequest"); len(sent) != 1 || sent[0].Query.Encode() != tc.query.Encode() {
			t.Errorf("%s: upstream got %v; want the search as given", tc.query.Encode(), sent)
		}
	}
}

func TestOtherTypesUntouched(t *testing.T) {
	up := platformtest.Open(t, "athena", fixture.Patient("p1"), fixture.Observation("o1", "p1", "", "laboratory"))
	q := fixture.Values("patient", "p1")
	res, err := up.Adapter.Search(context.Background(), "Observation", q)
	if err != nil {
		t.Fatal(err)
	}
	if sent := up.Sent.Requests("/Observation"); len(res.Matches) != 1 || len(sent) != 1 || sent[0].Query.Encode() != q.Encode() {
		t.Errorf("%d matches from %v; want the search as given", len(res.Matches), sent)
	}
}

// TestRequiredWithoutValueSetRefused gives the platform a required
// parameter whose values cannot all be listed: the search is refused, by the
// data, before it is sent.
func TestRequiredWithoutValueSetRefused(t *testing.T) {
	p := fixture.Platform(t, "athena")
	p.Search.RequireAll["Condition"] = []string{"category"}
	p.Search.RequireAll["*"] = []string{"patient"}
	ts := fhirtest.NewTestServer(fhirtest.WithPlatform(p))
	defer ts.Close()
	fixture.Load(t, ts, fixture.Patient("p1"), fixture.MedicationRequest("m1", "p1", "order"))
	sent := fixture.Record(ts)
	a := platformtest.NewAdapter(t, ts.URL, sent.Client(), p)
	ctx := context.Background()
	for _, search := range []struct {
		typ   string
		query url.Values
	}{
		{"Condition", fixture.Values("patient", "p1")},
		{"MedicationRequest", fixture.Values("code", "x")},
	} {
		if _, err := a.Search(ctx, search.typ, search.query); !errors.Is(err, adapters.ErrUnsupportedSearch) {
			t.Errorf("%s?%s: err = %v, want ErrUnsupportedSearch", search.typ, search.query.Encode(), err)
		}
	}
	if n := len(sent.Requests("")); n != 0 {
		t.Errorf("%d requests sent for searches the platform refuses", n)
	}
	// With the patient "*" asks for, the intent is still added.
	res, err := a.Search(ctx, "MedicationRequest", fixture.Values("patient", "p1"))
	if err != nil || len(res.Matches) != 1 {
		t.Errorf("%v, %v", res, err)
	}
}

// The search adds nothing when the platform's data requires nothing.
func TestNothingRequired(t *testing.T) {
	var sent url.Values
	next := func(_ context.Context, _ string, params url.Values) (*fhir.SearchResult, error) {
		sent = params
		return &fhir.SearchResult{}, nil
	}
	if _, err := (quirks{}).Search(context.Background(), fixture.Platform(t, "smart"), "MedicationRequest", fixture.Values("patient", "p1"), next); err != nil {
		t.Fatal(err)
	}
	if sent.Encode() != "patient=p1" {
		t.Errorf("sent %s on a platform that requires no intent", sent.Encode())
	}
}
