package access_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/access"
)

const (
	labScope    = "patient/Observation.rs?category=" + obsCategory + "|laboratory"
	vitalsScope = "patient/Observation.rs?category=" + obsCategory + "|vital-signs"
	labToken    = obsCategory + "|laboratory"
)

func TestDecide(t *testing.T) {
	other := selfRequest(access.PurposePortal, access.Read, "Observation")
	other.Subject = "milo"
	anonymous := selfRequest(access.PurposePortal, access.Read, "Observation")
	anonymous.Actor.Person, anonymous.Actor.Account = "", ""
	noRecords := selfRequest(access.PurposePortal, access.Search, "Condition")
	noRecords.Actor.Records = nil
	withParams := func(r access.Request, q string) access.Request {
		r.Params, _ = url.ParseQuery(q)
		return r
	}
	appWithoutClient := selfRequest(access.PurposeFHIR, access.Create, "Observation", "patient/Observation.c")
	appWithoutClient.Actor.Client = "healthapp"

	tests := []struct {
		name      string
		req       access.Request
		status    int    // 200 when allowed
		reason    string // part of the reason when refused
		addParams url.Values
	}{
		// The patient themself, through the portal and the FHIR face.
		{name: "portal read", req: selfRequest(access.PurposePortal, access.Read, "Observation"), status: 200},
		{name: "portal search whole record", req: selfRequest(access.PurposePortal, access.Search, ""), status: 200},
		{name: "portal create", req: selfRequest(access.PurposePortal, access.Create, "Communication"), status: 200},
		{name: "portal delete", req: selfRequest(access.PurposePortal, access.Delete, "Appointment"), status: 200},
		{name: "FHIR face search", req: selfRequest(access.PurposeFHIR, access.Search, "Condition"), status: 200},
		{name: "FHIR face is read-only", req: selfRequest(access.PurposeFHIR, access.Update, "Observation"),
			status: 403, reason: "only be viewed"},
		{name: "not signed in", req: anonymous, status: 401, reason: "sign in"},
		{name: "another person's records", req: other, status: 403, reason: "only your own"},
		{name: "no records yet", req: noRecords, status: 404, reason: "no health records"},

		// SMART v1 scopes.
		{name: "v1 type read allows read", req: selfRequest(access.PurposeApp, access.Read, "Observation", "patient/Observation.read"), status: 200},
		{name: "v1 type read allows search", req: selfRequest(access.PurposeApp, access.Search, "Observation", "patient/Observation.read"), status: 200},
		{name: "v1 type read refuses create", req: selfRequest(access.PurposeApp, access.Create, "Observation", "patient/Observation.read"),
			status: 403, reason: "This app was not given permission to add to your test results"},
		{name: "v1 type read refuses other types", req: selfRequest(access.PurposeApp, access.Search, "Condition", "patient/Observation.read"),
			status: 403, reason: "see your health problems"},
		{name: "v1 wildcard read", req: selfRequest(access.PurposeApp, access.Search, "Condition", "patient/*.read"), status: 200},
		{name: "v1 wildcard read refuses update", req: selfRequest(access.PurposeApp, access.Update, "Condition", "patient/*.read"), status: 403},
		{name: "v1 write allows create", req: selfRequest(access.PurposeApp, access.Create, "Observation", "patient/*.write"), status: 200},
		{name: "v1 write refuses read", req: selfRequest(access.PurposeApp, access.Read, "Observation", "patient/*.write"), status: 403},
		{name: "v1 star allows delete", req: selfRequest(access.PurposeApp, access.Delete, "Observation", "patient/*.*"), status: 200},
		{name: "user scope", req: selfRequest(access.PurposeApp, access.Read, "Observation", "user/Observation.read"), status: 200},
		{name: "system scope grants a patient's app nothing", req: selfRequest(access.PurposeApp, access.Read, "Observation", "system/*.read"), status: 403},
		{name: "no resource scopes", req: selfRequest(access.PurposeApp, access.Read, "Patient", "openid", "fhirUser", "launch/patient", "offline_access"),
			status: 403, reason: "see your personal details"},
		{name: "malformed scope grants nothing", req: selfRequest(access.PurposeApp, access.Read, "Observation", "patient/Observation.rx"), status: 403},
		{name: "a client makes any purpose scoped", req: appWithoutClient, status: 403, reason: "only be viewed"},

		// SMART v2 scopes.
		{name: "v2 rs search", req: selfRequest(access.PurposeApp, access.Search, "Observation", "patient/Observation.rs"), status: 200},
		{name: "v2 r refuses search", req: selfRequest(access.PurposeApp, access.Search, "Observation", "patient/Observation.r"), status: 403},
		{name: "v2 s refuses read", req: selfRequest(access.PurposeApp, access.Read, "Observation", "patient/Observation.s"), status: 403},
		{name: "v2 cruds delete", req: selfRequest(access.PurposeApp, access.Delete, "Observation", "patient/Observation.cruds"), status: 200},
		{name: "v2 c create", req: selfRequest(access.PurposeApp, access.Create, "Observation", "patient/Observation.c"), status: 200},
		{name: "v2 letters out of order grant nothing", req: selfRequest(access.PurposeApp, access.Read, "Observation", "patient/Observation.sr"), status: 403},

		// Fine-grained v2 scopes and the request's own categories.
		{name: "category scope narrows the search", req: selfRequest(access.PurposeApp, access.Search, "Observation", labScope),
			status: 200, addParams: url.Values{"category": {labToken}}},
		{name: "category scope, search for the granted category",
			req:    withParams(selfRequest(access.PurposeApp, access.Search, "Observation", labScope), "category=laboratory"),
			status: 200, addParams: url.Values{"category": {labToken}}},
		{name: "category scope, search for another category",
			req:    withParams(selfRequest(access.PurposeApp, access.Search, "Observation", labScope), "category="+obsCategory+"|vital-signs"),
			status: 403, reason: "only some kinds of your test results"},
		{name: "category scope, one of the searched categories is granted",
			req:    withParams(selfRequest(access.PurposeApp, access.Search, "Observation", labScope), "category=vital-signs,laboratory"),
			status: 200, addParams: url.Values{"category": {labToken}}},
		{name: "category scope, ANDed categories one of which is not granted",
			req:    withParams(selfRequest(access.PurposeApp, access.Search, "Observation", labScope), "category=laboratory&category=vital-signs"),
			status: 403},
		{name: "category scope, a modifier is left to the filter",
			req:    withParams(selfRequest(access.PurposeApp, access.Search, "Observation", labScope), "category:not=laboratory"),
			status: 200, addParams: url.Values{"category": {labToken}}},
		{name: "two category scopes merge into one OR",
			req:    selfRequest(access.PurposeApp, access.Search, "Observation", labScope, vitalsScope),
			status: 200, addParams: url.Values{"category": {labToken + "," + obsCategory + "|vital-signs"}}},
		{name: "an unrestricted scope wins over a fine-grained one",
			req:    selfRequest(access.PurposeApp, access.Search, "Observation", labScope, "patient/Observation.rs"),
			status: 200},
		{name: "code scope",
			req:    selfRequest(access.PurposeApp, access.Search, "Observation", "patient/Observation.rs?code="+loinc+"|"+hemoglobin),
			status: 200, addParams: url.Values{"code": {loinc + "|" + hemoglobin}}},
		{name: "category and code in one scope are ANDed",
			req:    selfRequest(access.PurposeApp, access.Search, "Observation", "patient/Observation.rs?code="+loinc+"|"+hemoglobin+"&category=laboratory"),
			status: 200, addParams: url.Values{"category": {"laboratory"}, "code": {loinc + "|" + hemoglobin}}},
		{name: "category scope and code scope: no single search",
			req:    selfRequest(access.PurposeApp, access.Search, "Observation", labScope, "patient/Observation.rs?code="+loinc+"|"+hemoglobin),
			status: 200},
		{name: "unsupported scope parameter grants nothing",
			req:    selfRequest(access.PurposeApp, access.Search, "Observation", "patient/Observation.rs?status=final"),
			status: 403},
		{name: "category scope on every type",
			req:    selfRequest(access.PurposeApp, access.Search, "Condition", "patient/*.rs?category=problem-list-item"),
			status: 200, addParams: url.Values{"category": {"problem-list-item"}}},
		{name: "a read by id is narrowed by the filter, not the search",
			req:    selfRequest(access.PurposeApp, access.Read, "Observation", labScope),
			status: 200},

		// Share codes.
		{name: "share within its scopes", req: selfRequest(access.PurposeShare, access.Search, "Immunization", "patient/Immunization.rs"), status: 200},
		{name: "share outside its scopes", req: selfRequest(access.PurposeShare, access.Search, "Observation", "patient/Immunization.rs"),
			status: 403, reason: "This share code does not include your test results"},
		{name: "share never writes", req: selfRequest(access.PurposeShare, access.Update, "Immunization", "patient/*.*"),
			status: 403, reason: "only be viewed"},
	}
	d := newDecider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Decide(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status || got.Allowed != (tt.status == http.StatusOK) {
				t.Fatalf("Decide = allowed %v, status %d (%q); want status %d", got.Allowed, got.Status, got.Reason, tt.status)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", got.Reason, tt.reason)
			}
			if !reflect.DeepEqual(got.AddParams, tt.addParams) && len(got.AddParams)+len(tt.addParams) > 0 {
				t.Errorf("AddParams = %v, want %v", got.AddParams, tt.addParams)
			}
			if got.Audit.Person != tt.req.Actor.Person || got.Audit.Client != tt.req.Actor.Client || got.Audit.Network != "lakeside" {
				t.Errorf("Audit = %+v", got.Audit)
			}
			if !got.Allowed {
				if got.Records != nil || got.Filters != nil || got.Grants != nil {
					t.Errorf("a refusal carries access: %+v", got)
				}
				return
			}
			if !slices.Equal(got.Records, danaRecords) || !slices.Equal(got.Audit.Records, danaRecords) {
				t.Errorf("Records = %v, Audit.Records = %v; want %v", got.Records, got.Audit.Records, danaRecords)
			}
			if tt.req.ResourceType != "" && !got.Permits(tt.req.ResourceType) {
				t.Errorf("Permits(%s) = false on an allowed decision", tt.req.ResourceType)
			}
		})
	}
}

func TestDecideAnotherPersonIsAudited(t *testing.T) {
	req := selfRequest(access.PurposePortal, access.Read, "Observation")
	req.Subject = "milo"
	got, err := newDecider(t).Decide(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Allowed || got.Audit.Subject != "milo" || got.Audit.Person != "dana" || got.Audit.Records != nil {
		t.Errorf("Decide = %+v", got)
	}
}

func TestDecideInvalidRequests(t *testing.T) {
	valid := selfRequest(access.PurposePortal, access.Read, "Observation")
	tests := map[string]func(r *access.Request){
		"no network":           func(r *access.Request) { r.Actor.Network = "" },
		"unknown network":      func(r *access.Request) { r.Actor.Network = "elsewhere" },
		"no subject":           func(r *access.Request) { r.Subject = "" },
		"unknown purpose":      func(r *access.Request) { r.Purpose = "marketing" },
		"unknown interaction":  func(r *access.Request) { r.Interaction = 'x' },
		"zero interaction":     func(r *access.Request) { r.Interaction = 0 },
		"bad resource type":    func(r *access.Request) { r.ResourceType = "observation" },
		"resource type spaces": func(r *access.Request) { r.ResourceType = "Obs ervation" },
	}
	d := newDecider(t)
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			req := valid
			change(&req)
			got, err := d.Decide(context.Background(), req)
			if !errors.Is(err, access.ErrInvalidRequest) {
				t.Fatalf("Decide = %+v, %v; want ErrInvalidRequest", got, err)
			}
			if got.Allowed {
				t.Error("an invalid request is allowed")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := d.Decide(ctx, valid); !errors.Is(err, context.Canceled) || got.Allowed {
		t.Errorf("Decide on a cancelled context = %+v, %v", got, err)
	}
	if _, err := access.NewDecider(access.Options{}); err == nil {
		t.Error("NewDecider without networks succeeded")
	}
}

// The decision's filters carry the decision's instant: a result pending when the request was
// decided stays pending in its response, whatever the clock says later.
func TestDecideFixesTheClock(t *testing.T) {
	now := testNow
	d, err := access.NewDecider(access.Options{
		Networks: networks{"lakeside": seedNetwork(t)},
		Now:      func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	issued := testNow.Add(-4*24*time.Hour + time.Second)
	obs := observation(hemoglobin, issued.Format(time.RFC3339))

	dec, err := d.Decide(context.Background(), selfRequest(access.PurposePortal, access.Read, "Observation"))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	out, err := dec.PostProcess(obs)
	if err != nil {
		t.Fatal(err)
	}
	doc := checkWithheld(t, out, "pending")
	if got, want := releaseAtOf(doc), issued.Add(4*24*time.Hour).Format(time.RFC3339); got != want {
		t.Errorf("release at = %q, want %q", got, want)
	}

	later, err := d.Decide(context.Background(), selfRequest(access.PurposePortal, access.Read, "Observation"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := later.PostProcess(obs); err != nil || string(out) != string(obs) {
		t.Errorf("an hour later the result is not released as sent: %v\n%s", err, out)
	}
}

func TestPostProcess(t *testing.T) {
	old := "2026-10-01T10:00:00Z" // released long ago
	labObs := observation(hemoglobin, old)
	vitals := []byte(`{"resourceType":"Observation","id":"bp","category":[{"coding":[{"system":"` + obsCategory + `","code":"vital-signs"}]}],` +
		`"code":{"coding":[{"system":"` + loinc + `","code":"85354-9"}]},"effectiveDateTime":"2026-11-21T10:00:00Z",` +
		`"component":[{"code":{"coding":[{"system":"` + loinc + `","code":"8480-6"}]},"valueQuantity":{"value":120}}]}`)
	condition := []byte(`{"resourceType":"Condition","id":"c1","category":[{"coding":[{"code":"problem-list-item"}]}],"code":{"text":"Asthma"}}`)
	outcome := []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"timeout","diagnostics":"lakeside-lab did not answer"}]}`)
	immunization := []byte(`{"resourceType":"Immunization","id":"i1","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]}}`)
	medication := []byte(`{"resourceType":"MedicationRequest","id":"m1","medicationReference":{"reference":"Medication/x"}}`)
	notResource := []byte(`{"id":"x"}`)

	type seen map[string]bool // name → kept
	tests := []struct {
		name   string
		req    access.Request
		expect seen
	}{
		{"portal sees everything", selfRequest(access.PurposePortal, access.Search, ""),
			seen{"lab": true, "vitals": true, "condition": true, "outcome": true, "immunization": true, "medication": true, "not a resource": true}},
		{"lab scope", selfRequest(access.PurposeApp, access.Search, "Observation", labScope),
			seen{"lab": true, "vitals": false, "condition": false, "outcome": true, "immunization": false, "medication": false, "not a resource": false}},
		{"vitals scope", selfRequest(access.PurposeApp, access.Read, "Observation", vitalsScope),
			seen{"lab": false, "vitals": true}},
		{"observation and immunization by code", selfRequest(access.PurposeApp, access.Search, "",
			"patient/Immunization.rs?code=http://hl7.org/fhir/sid/cvx|140", "patient/Observation.rs?code="+hemoglobin),
			seen{"lab": true, "vitals": false, "immunization": true}},
		{"a medication reference meets no code condition", selfRequest(access.PurposeApp, access.Search, "MedicationRequest",
			"patient/MedicationRequest.rs?code=http://www.nlm.nih.gov/research/umls/rxnorm|123"),
			seen{"medication": false}},
		{"includes need a grant of their own", selfRequest(access.PurposeApp, access.Search, "Condition", "patient/Condition.rs", "patient/Immunization.r"),
			seen{"condition": true, "immunization": true, "lab": false}},
	}
	resources := map[string][]byte{
		"lab": labObs, "vitals": vitals, "condition": condition, "outcome": outcome,
		"immunization": immunization, "medication": medication, "not a resource": notResource,
	}
	d := newDecider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := d.Decide(context.Background(), tt.req)
			if err != nil || !dec.Allowed {
				t.Fatalf("Decide = %+v, %v", dec, err)
			}
			for name, keep := range tt.expect {
				out, err := dec.PostProcess(resources[name])
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if kept := out != nil; kept != keep {
					t.Errorf("%s kept = %v, want %v", name, kept, keep)
				}
				if out != nil && string(out) != string(resources[name]) {
					t.Errorf("%s was changed:\n%s", name, out)
				}
			}
		})
	}
}

// Fine-grained write scopes let through only what they cover.
func TestPostProcessWrites(t *testing.T) {
	d := newDecider(t)
	dec, err := d.Decide(context.Background(),
		selfRequest(access.PurposeApp, access.Create, "Observation", "patient/Observation.c?category="+obsCategory+"|activity"))
	if err != nil || !dec.Allowed {
		t.Fatalf("Decide = %+v, %v", dec, err)
	}
	steps := []byte(`{"resourceType":"Observation","category":[{"coding":[{"system":"` + obsCategory + `","code":"activity"}]}],` +
		`"code":{"coding":[{"system":"` + loinc + `","code":"55423-8"}]},"valueQuantity":{"value":9000}}`)
	if out, err := dec.PostProcess(steps); err != nil || string(out) != string(steps) {
		t.Errorf("an activity Observation may not be written: %v", err)
	}
	if out, err := dec.PostProcess(observation(hemoglobin, "2026-11-01T00:00:00Z")); err != nil || out != nil {
		t.Errorf("a laboratory Observation may be written: %v", err)
	}

	portal, err := d.Decide(context.Background(), selfRequest(access.PurposePortal, access.Create, "Observation"))
	if err != nil || len(portal.Filters) != 0 {
		t.Errorf("the patient's own write has filters: %+v, %v", portal, err)
	}
	if out, _ := portal.PostProcess(steps); string(out) != string(steps) {
		t.Error("the patient's own write was changed")
	}
	if out, err := (access.Decision{}).PostProcess(steps); out != nil || err != nil {
		t.Errorf("a refusal lets a resource through: %s, %v", out, err)
	}
}

func TestPermits(t *testing.T) {
	dec, err := newDecider(t).Decide(context.Background(),
		selfRequest(access.PurposeApp, access.Search, "", "patient/Observation.rs", "patient/Condition.read", "patient/Encounter.r"))
	if err != nil || !dec.Allowed {
		t.Fatalf("Decide = %+v, %v", dec, err)
	}
	for typ, want := range map[string]bool{"Observation": true, "Condition": true, "Encounter": false, "Patient": false} {
		if got := dec.Permits(typ); got != want {
			t.Errorf("Permits(%s) = %v, want %v", typ, got, want)
		}
	}
	if (access.Decision{Grants: []access.Grant{{Type: "*"}}}).Permits("Observation") {
		t.Error("a refusal permits a type")
	}
}
