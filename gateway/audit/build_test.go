package audit

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// profileSpec is what a BALP 1.1.4 RESTful pattern requires, written out from the profiles
// so that the builder is checked against them rather than against itself.
type profileSpec struct {
	subtypes             []string
	action               fhir.AuditEventAction
	client, server, user fhir.Coding
	users                []string // codes of the user's allowed types, when bound to a value set
	query                bool     // a query entity instead of a data entity
}

var dataSources = []string{"AUT", "INF", "CST"}

var balp = map[string]profileSpec{
	"Read":   {subtypes: []string{"read", "vread"}, action: fhir.AuditEventActionR, client: roleDestination, server: roleSource, user: roleRecipient},
	"Query":  {subtypes: []string{"search", "search-type", "search-system", "operation"}, action: fhir.AuditEventActionE, client: roleSource, server: roleDestination, user: roleRecipient, query: true},
	"Create": {subtypes: []string{"create"}, action: fhir.AuditEventActionC, client: roleSource, server: roleDestination, users: dataSources},
	"Update": {subtypes: []string{"update", "patch"}, action: fhir.AuditEventActionU, client: roleSource, server: roleDestination, users: dataSources},
	"Delete": {subtypes: []string{"delete"}, action: fhir.AuditEventActionD, client: roleApplication, server: roleCustodian, users: dataSources},
}

// hasPattern reports whether cc holds a coding equal to the pattern's system, code and display.
func hasPattern(cc *fhir.CodeableConcept, pattern fhir.Coding) bool {
	if cc == nil {
		return false
	}
	return slices.ContainsFunc(cc.Coding, func(c fhir.Coding) bool {
		return same(c, pattern) && deref(c.Display) == deref(pattern.Display)
	})
}

func codingIs(c *fhir.Coding, pattern fhir.Coding) bool { return c != nil && same(*c, pattern) }

// checkBALP holds ev to the pattern its meta.profile names.
func checkBALP(t *testing.T, ev fhir.AuditEvent) {
	t.Helper()
	if ev.Meta == nil || len(ev.Meta.Profile) != 1 {
		t.Fatalf("meta.profile = %v, want one BALP profile", ev.Meta)
	}
	name, ok := strings.CutPrefix(ev.Meta.Profile[0], ProfileBase)
	if !ok {
		t.Fatalf("profile %s is not BALP", ev.Meta.Profile[0])
	}
	patient := strings.HasPrefix(name, "Patient")
	spec, ok := balp[strings.TrimPrefix(name, "Patient")]
	if !ok {
		t.Fatalf("unknown BALP profile %s", name)
	}
	if !same(ev.Type, typeRest) {
		t.Errorf("type = %v, want rest", deref(ev.Type.Code))
	}
	if len(ev.Subtype) == 0 || !slices.ContainsFunc(ev.Subtype, func(c fhir.Coding) bool {
		return deref(c.System) == interactionSystem && slices.Contains(spec.subtypes, deref(c.Code))
	}) {
		t.Errorf("subtype %v not one of %v", ev.Subtype, spec.subtypes)
	}
	if ev.Action == nil || *ev.Action != spec.action {
		t.Errorf("action = %v, want %v", ev.Action, spec.action)
	}
	if _, err := time.Parse(time.RFC3339, ev.Recorded); err != nil {
		t.Errorf("recorded %q: %v", ev.Recorded, err)
	}
	if ev.Outcome == nil || *ev.Outcome != fhir.AuditEventOutcome0 {
		t.Errorf("outcome = %v, want 0: BALP patterns are for successes", ev.Outcome)
	}

	// Agent slices, by type pattern.
	var clients, servers, users int
	for _, a := range ev.Agent {
		switch {
		case hasPattern(a.Type, spec.client):
			clients++
			if a.Who == nil || a.Network == nil || a.Network.Address == nil || a.Media != nil {
				t.Errorf("client agent lacks who or network: %+v", a)
			}
			// The slice is found by type; what it describes must be the requesting app.
			if deref(a.Id) != agentClient || a.Network.Type == nil || *a.Network.Type != networkIP {
				t.Errorf("the client slice holds agent %q, not the app at the client's address", deref(a.Id))
			}
		case hasPattern(a.Type, spec.server):
			servers++
			if a.Who == nil || a.Network == nil || a.Network.Address == nil || a.Media != nil {
				t.Errorf("server agent lacks who or network: %+v", a)
			}
			if deref(a.Id) != agentServer || deref(a.Who.Display) != "gateway.test" {
				t.Errorf("the server slice holds agent %q, not the gateway", deref(a.Id))
			}
		case a.Requestor:
			users++
			switch {
			case spec.users == nil && !hasPattern(a.Type, spec.user):
				t.Errorf("user agent type %+v, want %s", a.Type, deref(spec.user.Code))
			case spec.users != nil && (a.Type == nil || len(a.Type.Coding) == 0 || !slices.Contains(spec.users, deref(a.Type.Coding[0].Code))):
				t.Errorf("user agent type %+v, want one of %v", a.Type, spec.users)
			}
			if a.Who == nil || a.Network != nil || a.Media != nil {
				t.Errorf("user agent: who required, no network: %+v", a)
			}
		}
	}
	if clients != 1 || servers != 1 || users > 1 || len(ev.Agent) < 2 {
		t.Errorf("agents: %d client, %d server, %d user; want 1, 1, at most 1", clients, servers, users)
	}

	// Entity slices, by type pattern.
	var data, queries, patients, requests int
	for _, en := range ev.Entity {
		if en.Name != nil && en.Query != nil {
			t.Errorf("entity has both name and query (sev-1)")
		}
		switch {
		case codingIs(en.Type, entitySystemObject) && spec.query:
			queries++
			if !codingIs(en.Role, objectQuery) || en.What != nil || en.Query == nil || en.Lifecycle != nil || en.Detail != nil {
				t.Errorf("query entity: %+v", en)
			}
			if q, err := base64.StdEncoding.DecodeString(deref(en.Query)); err != nil || string(q) != deref(en.Description) {
				t.Errorf("query %q does not hold the description %q", deref(en.Query), deref(en.Description))
			}
		case codingIs(en.Type, entitySystemObject):
			data++
			if en.Role == nil || !slices.Contains([]string{"4", "3", "20"}, deref(en.Role.Code)) || en.What == nil {
				t.Errorf("data entity: %+v", en)
			}
		case codingIs(en.Type, entityPerson) && codingIs(en.Role, objectPatient):
			patients++
			if en.What == nil || !strings.HasPrefix(deref(en.What.Reference), "Patient/") {
				t.Errorf("patient entity does not reference a Patient: %+v", en.What)
			}
		case codingIs(en.Type, entityRequestID):
			requests++
			if en.What == nil || en.What.Identifier == nil || en.What.Identifier.Value == nil {
				t.Errorf("request entity lacks its identifier value")
			}
		}
	}
	switch {
	case spec.query && queries != 1, !spec.query && data != 1:
		t.Errorf("%d data and %d query entities", data, queries)
	case patient && patients != 1, !patient && patients != 0:
		t.Errorf("%s with %d patient entities", name, patients)
	case requests > 1:
		t.Errorf("%d request entities", requests)
	}
	if ev.Source.Observer.Display == nil && ev.Source.Observer.Reference == nil {
		t.Errorf("source.observer is empty")
	}
}

// base is a complete event of each kind, as the gateway would report it.
func base(kind Kind) Event {
	e := Event{
		Kind: kind, Network: "lakeside", Account: "acct-1", Person: "alex", ClientIP: "203.0.113.7",
		RequestID: "req-42",
	}
	switch kind {
	case CodeRedeemed, CodeRejected:
		e.Records = []Record{{Org: "hospital", Patient: "h-alex"}}
	case ConsentChanged:
		e.ResourceID = "c0ffee"
		e.Records = []Record{{Org: "hospital", Patient: "h-alex"}}
		e.Outcome = Success
	case RecordRead:
		e.ResourceType, e.ResourceID = "Observation", "obs-1"
		e.Records = []Record{{Org: "hospital", Patient: "h-alex"}}
		e.Outcome = Success
	case RecordSearch:
		e.ResourceType, e.SearchParams = "Observation", []string{"date", "category"}
		e.Records = []Record{{Org: "hospital", Patient: "h-alex"}}
		e.Outcome = Success
	case RecordWrite:
		e.ResourceType, e.ResourceID, e.Interaction = "Communication", "msg-9", "create"
		e.Records = []Record{{Org: "clinics", Patient: "c-alex"}}
		e.Outcome = Success
	case PersonRegistered, CodeIssued:
		e.Account, e.Person, e.Operator, e.Subject = "", "", "operator", "alex"
		e.Records = []Record{{Org: "hospital", Patient: "h-alex"}}
	}
	return e
}

func TestEveryKindBuildsAnAuditEvent(t *testing.T) {
	type want struct {
		profile string // "" for none
		typ     fhir.Coding
		subtype string
		action  fhir.AuditEventAction
		outcome fhir.AuditEventOutcome
	}
	tests := []struct {
		name  string
		event Event
		want  want
	}{
		{"sign-in", base(SignIn), want{"", typeUserAuth, "110122", fhir.AuditEventActionE, fhir.AuditEventOutcome0}},
		{"sign-in failed", base(SignInFailed), want{"", typeUserAuth, "110122", fhir.AuditEventActionE, fhir.AuditEventOutcome4}},
		{"sign-in failed seriously", with(base(SignInFailed), func(e *Event) { e.Outcome = SeriousFailure }),
			want{"", typeUserAuth, "110122", fhir.AuditEventActionE, fhir.AuditEventOutcome8}},
		{"sign-out", base(SignOut), want{"", typeUserAuth, "110123", fhir.AuditEventActionE, fhir.AuditEventOutcome0}},
		{"code redeemed", base(CodeRedeemed), want{"", typeSecurity, "110137", fhir.AuditEventActionE, fhir.AuditEventOutcome0}},
		{"code rejected", base(CodeRejected), want{"", typeSecurity, "110137", fhir.AuditEventActionE, fhir.AuditEventOutcome4}},
		{"consent created", base(ConsentChanged), want{"PatientCreate", typeRest, "create", fhir.AuditEventActionC, fhir.AuditEventOutcome0}},
		{"consent updated", with(base(ConsentChanged), func(e *Event) { e.Interaction = "update" }),
			want{"PatientUpdate", typeRest, "update", fhir.AuditEventActionU, fhir.AuditEventOutcome0}},
		{"consent without a record", with(base(ConsentChanged), func(e *Event) { e.Records = nil }),
			want{"Create", typeRest, "create", fhir.AuditEventActionC, fhir.AuditEventOutcome0}},
		{"read", base(RecordRead), want{"PatientRead", typeRest, "read", fhir.AuditEventActionR, fhir.AuditEventOutcome0}},
		{"vread", with(base(RecordRead), func(e *Event) { e.Interaction = "vread" }),
			want{"PatientRead", typeRest, "vread", fhir.AuditEventActionR, fhir.AuditEventOutcome0}},
		{"read refused", with(base(RecordRead), func(e *Event) { e.Outcome, e.Detail = MinorFailure, "access denied" }),
			want{"", typeRest, "read", fhir.AuditEventActionR, fhir.AuditEventOutcome4}},
		{"read by an app", with(base(RecordRead), func(e *Event) { e.Client, e.ClientName = "app-7", "Health Diary" }),
			want{"PatientRead", typeRest, "read", fhir.AuditEventActionR, fhir.AuditEventOutcome0}},
		{"read without a record", with(base(RecordRead), func(e *Event) { e.Records = nil }),
			want{"Read", typeRest, "read", fhir.AuditEventActionR, fhir.AuditEventOutcome0}},
		{"search", base(RecordSearch), want{"PatientQuery", typeRest, "search-type", fhir.AuditEventActionE, fhir.AuditEventOutcome0}},
		{"system search", with(base(RecordSearch), func(e *Event) { e.ResourceType = "" }),
			want{"PatientQuery", typeRest, "search-system", fhir.AuditEventActionE, fhir.AuditEventOutcome0}},
		{"$everything", with(base(RecordSearch), func(e *Event) {
			e.ResourceType, e.ResourceID, e.Interaction, e.Operation, e.SearchParams = "Patient", "h-alex", "operation", "everything", []string{"_since"}
		}), want{"PatientQuery", typeRest, "operation", fhir.AuditEventActionE, fhir.AuditEventOutcome0}},
		{"search failed upstream", with(base(RecordSearch), func(e *Event) { e.Outcome, e.Detail = SeriousFailure, "upstream timeout" }),
			want{"", typeRest, "search-type", fhir.AuditEventActionE, fhir.AuditEventOutcome8}},
		{"create", base(RecordWrite), want{"PatientCreate", typeRest, "create", fhir.AuditEventActionC, fhir.AuditEventOutcome0}},
		{"update", with(base(RecordWrite), func(e *Event) { e.Interaction = "update" }),
			want{"PatientUpdate", typeRest, "update", fhir.AuditEventActionU, fhir.AuditEventOutcome0}},
		{"patch", with(base(RecordWrite), func(e *Event) { e.Interaction = "patch" }),
			want{"PatientUpdate", typeRest, "patch", fhir.AuditEventActionU, fhir.AuditEventOutcome0}},
		{"delete", with(base(RecordWrite), func(e *Event) { e.Interaction = "delete" }),
			want{"PatientDelete", typeRest, "delete", fhir.AuditEventActionD, fhir.AuditEventOutcome0}},
		{"without a request id or account", with(base(RecordRead), func(e *Event) { e.RequestID, e.Account = "", "" }),
			want{"PatientRead", typeRest, "read", fhir.AuditEventActionR, fhir.AuditEventOutcome0}},
		{"sign-in failed, nobody known", Event{Kind: SignInFailed, Network: "lakeside", ClientIP: "2001:db8::1"},
			want{"", typeUserAuth, "110122", fhir.AuditEventActionE, fhir.AuditEventOutcome4}},
		{"person registered", base(PersonRegistered), want{"PatientUpdate", typeRest, "update", fhir.AuditEventActionU, fhir.AuditEventOutcome0}},
		{"person registered without records", with(base(PersonRegistered), func(e *Event) { e.Records = nil }),
			want{"Update", typeRest, "update", fhir.AuditEventActionU, fhir.AuditEventOutcome0}},
		{"code issued", base(CodeIssued), want{"", typeSecurity, "110137", fhir.AuditEventActionC, fhir.AuditEventOutcome0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem, clock := newMemStorage(), newClock()
			l := newTestLog(t, mem, clock)
			ids, err := l.Record(t.Context(), tt.event)
			if err != nil {
				t.Fatal(err)
			}
			stored := mem.values(networkLogName("lakeside"))
			if len(ids) != 1 || len(stored) != 1 {
				t.Fatalf("%d ids, %d stored events; want 1", len(ids), len(stored))
			}
			raw := stored[0]
			noEmptyElements(t, raw)
			ev := decodeStrict(t, raw)

			if deref(ev.Id) != ids[0] {
				t.Errorf("id = %q, Record returned %q", deref(ev.Id), ids[0])
			}
			if ev.Recorded != "2026-03-10T17:00:00.000Z" {
				t.Errorf("recorded = %s, want the injected clock's time", ev.Recorded)
			}
			if !same(ev.Type, tt.want.typ) {
				t.Errorf("type = %s", deref(ev.Type.Code))
			}
			if len(ev.Subtype) != 1 || deref(ev.Subtype[0].Code) != tt.want.subtype {
				t.Errorf("subtype = %+v, want %s", ev.Subtype, tt.want.subtype)
			}
			if ev.Action == nil || *ev.Action != tt.want.action {
				t.Errorf("action = %v, want %v", ev.Action, tt.want.action)
			}
			if ev.Outcome == nil || *ev.Outcome != tt.want.outcome {
				t.Errorf("outcome = %v, want %v", ev.Outcome, tt.want.outcome)
			}
			if failed := tt.want.outcome != fhir.AuditEventOutcome0; (ev.OutcomeDesc != nil) != (failed && tt.event.Detail != "") {
				t.Errorf("outcomeDesc = %q on outcome %v", deref(ev.OutcomeDesc), tt.want.outcome)
			}
			if deref(ev.Source.Site) != "lakeside" || deref(ev.Source.Observer.Display) != "gateway.test" {
				t.Errorf("source = %+v", ev.Source)
			}
			requestors := 0
			for _, a := range ev.Agent {
				if a.Requestor {
					requestors++
				}
			}
			if requestors != 1 {
				t.Errorf("%d requestors, want 1", requestors)
			}

			if tt.want.profile == "" {
				if ev.Meta != nil {
					t.Errorf("meta = %+v, want no profile", ev.Meta)
				}
			} else {
				if ev.Meta == nil || !slices.Equal(ev.Meta.Profile, []string{ProfileBase + tt.want.profile}) {
					t.Fatalf("meta = %+v, want profile %s", ev.Meta, tt.want.profile)
				}
				checkBALP(t, ev)
			}

			// The summary reads the event back as it was reported.
			id, s, err := summarize(raw)
			if err != nil {
				t.Fatal(err)
			}
			wantKind := tt.event.Kind
			if id != ids[0] || s.Kind != wantKind || !s.When.Equal(start) {
				t.Errorf("summary %q %+v, want kind %s at %v", id, s, wantKind, start)
			}
			if s.Actor != tt.event.Person || s.Account != tt.event.Account || s.Client != tt.event.Client {
				t.Errorf("summary actor %q account %q client %q", s.Actor, s.Account, s.Client)
			}
			if len(tt.event.Records) == 1 && (s.Org != tt.event.Records[0].Org || s.Patient != tt.event.Records[0].Patient) {
				t.Errorf("summary record %s/%s", s.Org, s.Patient)
			}
		})
	}
}

func with(e Event, change func(*Event)) Event {
	change(&e)
	return e
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name  string
		event Event
		want  Summary
	}{
		{"own portal read", base(RecordRead), Summary{
			When: start, Kind: RecordRead, Outcome: Success, Actor: "alex", Account: "acct-1",
			Interaction: "read", What: "Observation", Org: "hospital", Patient: "h-alex",
		}},
		{"app search", with(base(RecordSearch), func(e *Event) { e.Client, e.ClientName = "app-7", "Health Diary" }), Summary{
			When: start, Kind: RecordSearch, Outcome: Success, Actor: "alex", Account: "acct-1", App: "Health Diary",
			Client: "app-7", Interaction: "search-type", What: "Observation", Org: "hospital", Patient: "h-alex",
		}},
		{"app without a name", with(base(RecordRead), func(e *Event) { e.Client = "app-7" }), Summary{
			When: start, Kind: RecordRead, Outcome: Success, Actor: "alex", Account: "acct-1", App: "app-7",
			Client: "app-7", Interaction: "read", What: "Observation", Org: "hospital", Patient: "h-alex",
		}},
		{"proxy read", with(base(RecordRead), func(e *Event) { e.Person, e.Subject = "jordan", "alex" }), Summary{
			When: start, Kind: RecordRead, Outcome: Success, Actor: "jordan", Account: "acct-1",
			Interaction: "read", What: "Observation", Org: "hospital", Patient: "h-alex",
		}},
		{"instance operation", with(base(RecordSearch), func(e *Event) {
			e.ResourceType, e.ResourceID, e.Interaction, e.Operation, e.SearchParams = "Patient", "h-alex", "operation", "everything", nil
		}), Summary{
			When: start, Kind: RecordSearch, Outcome: Success, Actor: "alex", Account: "acct-1",
			Interaction: "operation", What: "Patient", Org: "hospital", Patient: "h-alex",
		}},
		{"consent", base(ConsentChanged), Summary{
			When: start, Kind: ConsentChanged, Outcome: Success, Actor: "alex", Account: "acct-1",
			Interaction: "create", What: "Consent", Org: "hospital", Patient: "h-alex",
		}},
		{"failed write", with(base(RecordWrite), func(e *Event) { e.Outcome = SeriousFailure }), Summary{
			When: start, Kind: RecordWrite, Outcome: SeriousFailure, Actor: "alex", Account: "acct-1",
			Interaction: "create", What: "Communication", Org: "clinics", Patient: "c-alex",
		}},
		{"code rejected", base(CodeRejected), Summary{
			When: start, Kind: CodeRejected, Outcome: MinorFailure, Actor: "alex", Account: "acct-1", Org: "hospital", Patient: "h-alex",
		}},
		{"person registered", base(PersonRegistered), Summary{
			When: start, Kind: PersonRegistered, Outcome: Success, Operator: "operator", Subject: "alex",
			Interaction: "update", What: "Person", Org: "hospital", Patient: "h-alex",
		}},
		{"code issued", base(CodeIssued), Summary{
			When: start, Kind: CodeIssued, Outcome: Success, Operator: "operator", Subject: "alex", Org: "hospital", Patient: "h-alex",
		}},
		{"a login not enrolled yet", with(base(SignInFailed), func(e *Event) { e.Person = "" }), Summary{
			When: start, Kind: SignInFailed, Outcome: MinorFailure, Account: "acct-1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := newMemStorage()
			l := newTestLog(t, mem, newClock())
			if _, err := l.Record(t.Context(), tt.event); err != nil {
				t.Fatal(err)
			}
			_, got, err := summarize(mem.values(networkLogName("lakeside"))[0])
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("summary\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSummarizeRefusesForeignEvents(t *testing.T) {
	for _, raw := range []string{
		`not json`,
		`{"resourceType":"AuditEvent","recorded":"2026-01-01T00:00:00Z","outcome":"0"}`,
		`{"resourceType":"AuditEvent","id":"x","recorded":"yesterday","outcome":"0"}`,
		`{"resourceType":"AuditEvent","id":"x","recorded":"2026-01-01T00:00:00Z","outcome":"0","type":{"system":"urn:x","code":"y"}}`,
		`{"resourceType":"AuditEvent","id":"x","recorded":"2026-01-01T00:00:00Z","outcome":"0","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},"subtype":[{"code":"capabilities"}]}`,
		`{"resourceType":"AuditEvent","id":"x","recorded":"2026-01-01T00:00:00Z","outcome":"99"}`,
	} {
		if _, _, err := summarize([]byte(raw)); err == nil {
			t.Errorf("summarize(%s) accepted it", raw)
		}
	}
}

func TestOneAuditEventPerRecord(t *testing.T) {
	mem := newMemStorage()
	l := newTestLog(t, mem, newClock())
	e := base(RecordSearch)
	e.Records = []Record{{"hospital", "h-alex"}, {"clinics", "c-alex"}, {"lab", "l-alex"}}
	ids, err := l.Record(t.Context(), e)
	if err != nil {
		t.Fatal(err)
	}
	stored := mem.values(personLogName("lakeside", "alex"))
	if len(ids) != 3 || len(stored) != 3 || len(mem.values(networkLogName("lakeside"))) != 3 {
		t.Fatalf("%d ids, %d events in the person's log; want 3 of each", len(ids), len(stored))
	}
	seen := map[string]bool{}
	for i, raw := range stored {
		ev := decodeStrict(t, raw)
		checkBALP(t, ev)
		_, s, err := summarize(raw)
		if err != nil {
			t.Fatal(err)
		}
		if deref(ev.Id) != ids[i] || s.Org != e.Records[i].Org || s.Patient != e.Records[i].Patient {
			t.Errorf("event %d: id %s for %s/%s, want %s for %+v", i, deref(ev.Id), s.Org, s.Patient, ids[i], e.Records[i])
		}
		if seen[ids[i]] {
			t.Errorf("id %s repeats", ids[i])
		}
		seen[ids[i]] = true
		var requestID string
		for _, en := range ev.Entity {
			if deref(en.Id) == entityRequest {
				requestID = deref(en.What.Identifier.Value)
			}
		}
		if requestID != "req-42" {
			t.Errorf("event %d carries request id %q, want the shared req-42", i, requestID)
		}
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name            string
		event           Event
		interaction     string
		outcome         Outcome
		keepsDetail     bool
		wantSearchNames []string
	}{
		{"read defaults to read", with(base(RecordRead), func(e *Event) { e.Interaction = "" }), "read", Success, false, nil},
		{"search defaults to search-type", base(RecordSearch), "search-type", Success, false, []string{"category", "date"}},
		{"typeless search is system-wide", with(base(RecordSearch), func(e *Event) { e.ResourceType = "" }), "search-system", Success, false, []string{"category", "date"}},
		{"names sorted and deduplicated", with(base(RecordSearch), func(e *Event) { e.SearchParams = []string{"b", "a", "b"} }), "search-type", Success, false, []string{"a", "b"}},
		{"consent defaults to create", base(ConsentChanged), "create", Success, false, nil},
		{"sign-in succeeds", base(SignIn), "", Success, false, nil},
		{"sign-in failure is minor", base(SignInFailed), "", MinorFailure, false, nil},
		{"sign-in failure keeps its detail", with(base(SignInFailed), func(e *Event) { e.Detail = "second factor missing" }), "", MinorFailure, true, nil},
		{"a success drops the detail", with(base(SignIn), func(e *Event) { e.Detail = "hello" }), "", Success, false, nil},
		{"code rejected fails", base(CodeRejected), "", MinorFailure, false, nil},
		{"code rejection may be serious", with(base(CodeRejected), func(e *Event) { e.Outcome = SeriousFailure }), "", SeriousFailure, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.event.SearchParams)
			got, err := tt.event.normalize()
			if err != nil {
				t.Fatal(err)
			}
			if got.Interaction != tt.interaction || got.Outcome != tt.outcome || (got.Detail != "") != tt.keepsDetail {
				t.Errorf("normalized to interaction %q outcome %s detail %q", got.Interaction, got.Outcome, got.Detail)
			}
			if !slices.Equal(got.SearchParams, tt.wantSearchNames) {
				t.Errorf("search params %v, want %v", got.SearchParams, tt.wantSearchNames)
			}
			if !slices.Equal(tt.event.SearchParams, in) {
				t.Errorf("normalize changed the caller's slice")
			}
		})
	}
}

func TestInvalidEventsAreRefused(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name  string
		event Event
	}{
		{"no kind", with(base(SignIn), func(e *Event) { e.Kind = "" })},
		{"unknown kind", with(base(SignIn), func(e *Event) { e.Kind = "hack" })},
		{"no network", with(base(SignIn), func(e *Event) { e.Network = "" })},
		{"network with a slash", with(base(SignIn), func(e *Event) { e.Network = "a/b" })},
		{"person too long", with(base(SignIn), func(e *Event) { e.Person = long })},
		{"subject with a space", with(base(RecordRead), func(e *Event) { e.Subject = "a b" })},
		{"account with a space", with(base(SignIn), func(e *Event) { e.Account = "a b" })},
		{"client with a newline", with(base(RecordRead), func(e *Event) { e.Client = "app\n" })},
		{"client name with a control character", with(base(RecordRead), func(e *Event) { e.Client, e.ClientName = "a", "App\x1b[31m" })},
		{"client name not UTF-8", with(base(RecordRead), func(e *Event) { e.Client, e.ClientName = "a", "\xff" })},
		{"client IP not an address", with(base(SignIn), func(e *Event) { e.ClientIP = "10.0.0.1; DROP" })},
		{"record access without client IP", with(base(RecordRead), func(e *Event) { e.ClientIP = "" })},
		{"records on a sign-in", with(base(SignIn), func(e *Event) { e.Records = []Record{{"hospital", "h-alex"}} })},
		{"record without a patient", with(base(RecordRead), func(e *Event) { e.Records = []Record{{Org: "hospital"}} })},
		{"record with a bad org", with(base(RecordRead), func(e *Event) { e.Records = []Record{{"hos pital", "p"}} })},
		{"too many records", with(base(RecordRead), func(e *Event) { e.Records = make([]Record, maxRecords+1) })},
		{"read without a type", with(base(RecordRead), func(e *Event) { e.ResourceType = "" })},
		{"lower-case type", with(base(RecordRead), func(e *Event) { e.ResourceType = "observation" })},
		{"bad resource id", with(base(RecordRead), func(e *Event) { e.ResourceID = "obs/1" })},
		{"read as a search", with(base(RecordRead), func(e *Event) { e.Interaction = "search-type" })},
		{"write without interaction", with(base(RecordWrite), func(e *Event) { e.Interaction = "" })},
		{"write as a read", with(base(RecordWrite), func(e *Event) { e.Interaction = "read" })},
		{"consent of another type", with(base(ConsentChanged), func(e *Event) { e.ResourceType = "Observation" })},
		{"consent deleted", with(base(ConsentChanged), func(e *Event) { e.Interaction = "delete" })},
		{"sign-in with an interaction", with(base(SignIn), func(e *Event) { e.Interaction = "read" })},
		{"sign-in naming a resource", with(base(SignIn), func(e *Event) { e.ResourceType = "Patient" })},
		{"search param with a value", with(base(RecordSearch), func(e *Event) { e.SearchParams = []string{"code=4548-4"} })},
		{"search param with a space", with(base(RecordSearch), func(e *Event) { e.SearchParams = []string{"name john"} })},
		{"empty search param", with(base(RecordSearch), func(e *Event) { e.SearchParams = []string{""} })},
		{"search params on a read", with(base(RecordRead), func(e *Event) { e.SearchParams = []string{"_elements"} })},
		{"too many search params", with(base(RecordSearch), func(e *Event) { e.SearchParams = make([]string, maxSearchParams+1) })},
		{"search with a resource id", with(base(RecordSearch), func(e *Event) { e.ResourceID = "x" })},
		{"system search with a type", with(base(RecordSearch), func(e *Event) { e.Interaction = "search-system" })},
		{"operation without a name", with(base(RecordSearch), func(e *Event) { e.Interaction = "operation" })},
		{"operation name with $", with(base(RecordSearch), func(e *Event) { e.Interaction, e.Operation = "operation", "$everything" })},
		{"operation name on a search", with(base(RecordSearch), func(e *Event) { e.Operation = "everything" })},
		{"record access without outcome", with(base(RecordRead), func(e *Event) { e.Outcome = 0 })},
		{"unknown outcome", with(base(RecordRead), func(e *Event) { e.Outcome = 9 })},
		{"successful failure", with(base(SignInFailed), func(e *Event) { e.Outcome = Success })},
		{"failed sign-in recorded as sign-in", with(base(SignIn), func(e *Event) { e.Outcome = MinorFailure })},
		{"request id too long", with(base(SignIn), func(e *Event) { e.RequestID = strings.Repeat("r", maxToken+1) })},
		{"operator signing in", with(base(SignIn), func(e *Event) { e.Operator = "operator" })},
		{"operator reading a record", with(base(RecordRead), func(e *Event) { e.Operator = "operator" })},
		{"registration without operator", with(base(PersonRegistered), func(e *Event) { e.Operator = "" })},
		{"code issued without operator", with(base(CodeIssued), func(e *Event) { e.Operator = "" })},
		{"registration of nobody", with(base(PersonRegistered), func(e *Event) { e.Subject = "" })},
		{"code issued for nobody", with(base(CodeIssued), func(e *Event) { e.Subject = "" })},
		{"code issued by a person", with(base(CodeIssued), func(e *Event) { e.Person = "casey" })},
		{"registration by an account", with(base(PersonRegistered), func(e *Event) { e.Account = "acct-1" })},
		{"registration through an app", with(base(PersonRegistered), func(e *Event) { e.Client = "app-7" })},
		{"operator with a space", with(base(CodeIssued), func(e *Event) { e.Operator = "the operator" })},
		{"registration writing a Patient", with(base(PersonRegistered), func(e *Event) { e.ResourceType, e.ResourceID = "Patient", "alex" })},
		{"registration of another person", with(base(PersonRegistered), func(e *Event) { e.ResourceType, e.ResourceID = "Person", "blake" })},
		{"registration as a create", with(base(PersonRegistered), func(e *Event) { e.Interaction = "create" })},
		{"registration without client IP", with(base(PersonRegistered), func(e *Event) { e.ClientIP = "" })},
		{"code issued naming a resource", with(base(CodeIssued), func(e *Event) { e.ResourceType = "Person" })},
		{"failed registration", with(base(PersonRegistered), func(e *Event) { e.Outcome = MinorFailure })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := newMemStorage()
			l := newTestLog(t, mem, newClock())
			ids, err := l.Record(t.Context(), tt.event)
			if !errorsIsInvalid(err) {
				t.Fatalf("Record = %v, %v; want ErrInvalid", ids, err)
			}
			if n := len(mem.all()); n != 0 {
				t.Errorf("%d events written for a refused one", n)
			}
		})
	}
}

func TestOutcomeText(t *testing.T) {
	for _, o := range []Outcome{Success, MinorFailure, SeriousFailure} {
		text, err := o.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Outcome
		if err := back.UnmarshalText(text); err != nil || back != o || o.String() != string(text) {
			t.Errorf("%s round-trips to %s, %v", o, back, err)
		}
	}
	if _, err := Outcome(0).MarshalText(); err == nil {
		t.Error("the unset outcome has a name")
	}
	var o Outcome
	if err := o.UnmarshalText([]byte("fine")); err == nil {
		t.Error("unknown outcome name accepted")
	}
	if got := Outcome(7).String(); got != "Outcome(7)" {
		t.Errorf("String = %s", got)
	}
}
