package tenants

import (
	"errors"
	"testing"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

func TestResultReleaseState(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Results
	issued := at("2026-11-18T12:00:00Z")
	glucose := []Coding{{System: "http://loinc.org", Code: "2345-7"}}
	hiv := []Coding{{System: "urn:oid:1.2.3", Code: "local-1"}, {System: "http://loinc.org", Code: "7917-8"}}

	tests := []struct {
		name   string
		policy ResultPolicy
		codes  []Coding
		issued time.Time
		now    string
		want   ResultRelease
	}{
		{"a moment before the delay", p, glucose, issued, "2026-11-22T11:59:59Z", ResultRelease{ResultPending, at("2026-11-22T12:00:00Z")}},
		{"exactly at the delay", p, glucose, issued, "2026-11-22T12:00:00Z", ResultRelease{ResultReleased, at("2026-11-22T12:00:00Z")}},
		{"after the delay", p, glucose, issued, "2026-12-01T00:00:00Z", ResultRelease{ResultReleased, at("2026-11-22T12:00:00Z")}},
		{"sensitive code, any coding", p, hiv, issued, "2030-01-01T00:00:00Z", ResultRelease{State: ResultHeld}},
		{"no issue time", p, glucose, time.Time{}, "2030-01-01T00:00:00Z", ResultRelease{State: ResultHeld}},
		{"no delay", ResultPolicy{}, glucose, issued, "2026-11-18T12:00:00Z", ResultRelease{ResultReleased, issued}},
		{"whole code system held", ResultPolicy{HeldForClinician: []CodeToken{{fhir.Token{System: "http://loinc.org", SystemSet: true}}}}, glucose, issued, "2030-01-01T00:00:00Z", ResultRelease{State: ResultHeld}},
		{"code in any system held", ResultPolicy{HeldForClinician: []CodeToken{{fhir.Token{Code: "local-1"}}}}, hiv, issued, "2030-01-01T00:00:00Z", ResultRelease{State: ResultHeld}},
	}
	for _, tt := range tests {
		got := tt.policy.ReleaseState(tt.codes, tt.issued, at(tt.now))
		if got.State != tt.want.State || !got.At.Equal(tt.want.At) {
			t.Errorf("%s: ReleaseState = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseCodeToken(t *testing.T) {
	tests := []struct {
		in    string
		want  CodeToken
		match Coding
		miss  Coding
	}{
		{"http://loinc.org|7917-8", CodeToken{fhir.Token{System: "http://loinc.org", Code: "7917-8", SystemSet: true}}, Coding{"http://loinc.org", "7917-8"}, Coding{"http://snomed.info/sct", "7917-8"}},
		{"http://loinc.org|", CodeToken{fhir.Token{System: "http://loinc.org", SystemSet: true}}, Coding{"http://loinc.org", "1-8"}, Coding{"", "1-8"}},
		{"|abc", CodeToken{fhir.Token{Code: "abc", SystemSet: true}}, Coding{"", "abc"}, Coding{"x", "abc"}},
		{"abc", CodeToken{fhir.Token{Code: "abc"}}, Coding{"x", "abc"}, Coding{"x", "abd"}},
	}
	for _, tt := range tests {
		got, err := ParseCodeToken(tt.in)
		if err != nil || got != tt.want || got.String() != tt.in && got.SystemSet {
			t.Errorf("ParseCodeToken(%q) = %+v, %v", tt.in, got, err)
		}
		if !got.Matches(tt.match) || got.Matches(tt.miss) {
			t.Errorf("%q: Matches(%v) = %v, Matches(%v) = %v", tt.in, tt.match, got.Matches(tt.match), tt.miss, got.Matches(tt.miss))
		}
	}
	for _, bad := range []string{"", "|", "a|b|c", " abc"} {
		if tok, err := ParseCodeToken(bad); err == nil {
			t.Errorf("ParseCodeToken(%q) = %+v, want an error", bad, tok)
		}
	}
}

func TestCanMessage(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Messages
	now := at("2026-11-22T12:00:00Z")
	tests := []struct {
		name       string
		last, next string
		want       bool
	}{
		{"seen exactly 3 years ago", "2023-11-22T12:00:00Z", "", true},
		{"seen 3 years and a second ago", "2023-11-22T11:59:59Z", "", false},
		{"seen yesterday", "2026-11-21T12:00:00Z", "", true},
		{"booked in exactly a month", "", "2026-12-22T12:00:00Z", true},
		{"booked a second past a month", "", "2026-12-22T12:00:01Z", false},
		{"booked in the past", "", "2026-11-22T11:00:00Z", false},
		{"a future last visit is not a visit", "2026-11-23T12:00:00Z", "", false},
		{"never seen, not booked", "", "", false},
		{"old visit but booked soon", "2020-01-01T00:00:00Z", "2026-11-30T09:00:00Z", true},
	}
	parse := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		return at(s)
	}
	for _, tt := range tests {
		if got := p.CanMessage(parse(tt.last), parse(tt.next), now); got != tt.want {
			t.Errorf("%s: CanMessage = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckAttachments(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Messages
	limit := int64(p.MaxAttachmentSize)
	tests := []struct {
		name string
		atts []Attachment
		want error
	}{
		{"none", nil, nil},
		{"three at the size limit", []Attachment{{"application/pdf", limit}, {"image/jpeg", 1}, {"video/mp4; codecs=avc1", 2}}, nil},
		{"four", []Attachment{{"application/pdf", 1}, {"application/pdf", 1}, {"application/pdf", 1}, {"application/pdf", 1}}, ErrTooManyAttachments},
		{"a byte over", []Attachment{{"image/png", limit + 1}}, ErrAttachmentTooLarge},
		{"svg", []Attachment{{"image/svg+xml", 10}}, ErrMediaTypeNotAllowed},
		{"html", []Attachment{{"text/html", 10}}, ErrMediaTypeNotAllowed},
		{"garbage type", []Attachment{{"not a type", 10}}, ErrMediaTypeNotAllowed},
		{"negative size", []Attachment{{"image/png", -1}}, errAttachmentSizeInvalid},
	}
	for _, tt := range tests {
		err := p.CheckAttachments(tt.atts)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: CheckAttachments = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestReplyDueBy(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Messages
	tests := []struct{ sent, want string }{
		{"2026-11-16T10:00:00Z", "2026-11-18T10:00:00Z"}, // Monday → Wednesday
		{"2026-11-19T10:00:00Z", "2026-11-23T10:00:00Z"}, // Thursday → Monday
		{"2026-11-20T17:30:00Z", "2026-11-24T17:30:00Z"}, // Friday → Tuesday
		{"2026-11-21T09:00:00Z", "2026-11-24T09:00:00Z"}, // Saturday → Tuesday
		{"2026-11-22T23:59:00Z", "2026-11-24T23:59:00Z"}, // Sunday → Tuesday
	}
	for _, tt := range tests {
		if got := p.ReplyDueBy(at(tt.sent)); !got.Equal(at(tt.want)) {
			t.Errorf("ReplyDueBy(%s, %s) = %s, want %s", tt.sent, at(tt.sent).Weekday(), got, tt.want)
		}
	}
}

func TestWaitlistOffer(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Appointments
	offered := at("2026-11-22T12:00:00Z")
	for now, want := range map[string]bool{
		"2026-11-22T11:59:59Z": false, // before the offer
		"2026-11-22T12:00:00Z": true,
		"2026-11-22T12:59:59Z": true,
		"2026-11-22T13:00:00Z": false, // exactly one hour
	} {
		if got := p.WaitlistOfferOpen(offered, at(now)); got != want {
			t.Errorf("WaitlistOfferOpen at %s = %v, want %v", now, got, want)
		}
	}
}

func TestScheduling(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Appointments
	now := at("2026-11-22T12:00:00Z")
	tests := []struct {
		specialty string
		last      time.Time
		want      Scheduling
	}{
		{"dermatology", at("2025-01-01T00:00:00Z"), SelfSchedule},
		{"dermatology", at("2023-11-22T12:00:00Z"), SelfSchedule},   // exactly 3 years
		{"dermatology", at("2023-11-22T11:59:59Z"), CallNewPatient}, // a second more
		{"dermatology", time.Time{}, CallNewPatient},
		{"cardiology", at("2026-01-01T00:00:00Z"), CallSpecialty},
	}
	for _, tt := range tests {
		if got := p.Scheduling(tt.specialty, tt.last, now); got != tt.want {
			t.Errorf("Scheduling(%s, %s) = %s, want %s", tt.specialty, tt.last, got, tt.want)
		}
	}
}

func TestBilling(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Billing
	tests := []struct {
		months, active int
		want           error
	}{
		{36, 0, nil},
		{1, 0, nil},
		{37, 0, ErrPlanTooLong},
		{0, 0, ErrPlanTooLong},
		{12, 1, ErrPlanLimit},
	}
	for _, tt := range tests {
		if err := p.CheckPlan(tt.months, tt.active); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckPlan(%d, %d) = %v, want %v", tt.months, tt.active, err, tt.want)
		}
	}
	if !p.PaperlessDefault {
		t.Error("statements must be paperless by default")
	}

	balances := []Balance{
		{Account: "b", Amount: 500, Since: at("2026-03-01T00:00:00Z")},
		{Account: "c", Amount: 0, Since: at("2025-01-01T00:00:00Z")},
		{Account: "a", Amount: 100, Since: at("2026-03-01T00:00:00Z")},
		{Account: "d", Amount: 900, Since: at("2026-06-01T00:00:00Z")},
	}
	if got, err := PaymentTarget("", balances); err != nil || got != "a" {
		t.Errorf("oldest balance = %q, %v; want a (oldest owed, ties by id)", got, err)
	}
	if got, err := PaymentTarget("d", balances); err != nil || got != "d" {
		t.Errorf("chosen account = %q, %v; want d", got, err)
	}
	if _, err := PaymentTarget("c", balances); !errors.Is(err, ErrUnknownAccount) {
		t.Errorf("paying a settled account: %v", err)
	}
	if _, err := PaymentTarget("", balances[1:2]); !errors.Is(err, ErrNothingOwed) {
		t.Errorf("nothing owed: %v", err)
	}
}

func TestSignUp(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.SignUp
	if p.OldEnough(date(t, "2008-11-23"), at("2026-11-22T23:59:59Z")) {
		t.Error("17 on the eve of the 18th birthday may sign up")
	}
	if !p.OldEnough(date(t, "2008-11-23"), at("2026-11-23T00:00:00Z")) {
		t.Error("18 on the birthday may not sign up")
	}
	if p.OldEnough(date(t, "2008-02-29"), at("2026-02-28T12:00:00Z")) || !p.OldEnough(date(t, "2008-02-29"), at("2026-03-01T00:00:00Z")) {
		t.Error("a February 29 birth turns 18 on March 1 of a common year")
	}

	issued := at("2026-11-01T09:00:00Z")
	tests := []struct {
		kind CodeKind
		now  string
		want bool
	}{
		{ActivationCode, "2026-12-16T08:59:59Z", true},
		{ActivationCode, "2026-12-16T09:00:00Z", false}, // exactly 45 days
		{InvitationCode, "2026-11-02T08:59:59Z", true},
		{InvitationCode, "2026-11-02T09:00:00Z", false}, // exactly 24 hours
		{InvitationCode, "2026-11-01T08:59:59Z", false}, // before it was issued
	}
	for _, tt := range tests {
		if got := p.CodeValid(tt.kind, issued, at(tt.now)); got != tt.want {
			t.Errorf("CodeValid(%d, %s) = %v, want %v", tt.kind, tt.now, got, tt.want)
		}
	}

	last := at("2026-11-22T12:00:00Z")
	if p.Locked(4, last, last) {
		t.Error("locked after 4 failures")
	}
	if !p.Locked(5, last, at("2026-11-22T12:29:59Z")) {
		t.Error("not locked after 5 failures")
	}
	if p.Locked(5, last, at("2026-11-22T12:30:00Z")) {
		t.Error("still locked when the lockout has run")
	}
}

func TestSession(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	p := seed.Session
	start := at("2026-11-22T08:00:00Z")
	tests := []struct {
		name        string
		active, now string
		want        bool
	}{
		{"idle 19m59s", "2026-11-22T09:00:00Z", "2026-11-22T09:19:59Z", false},
		{"idle exactly 20m", "2026-11-22T09:00:00Z", "2026-11-22T09:20:00Z", true},
		{"active but at the absolute limit", "2026-11-22T19:59:00Z", "2026-11-22T20:00:00Z", true},
		{"active just before the absolute limit", "2026-11-22T19:59:00Z", "2026-11-22T19:59:59Z", false},
	}
	for _, tt := range tests {
		if got := p.Expired(start, at(tt.active), at(tt.now)); got != tt.want {
			t.Errorf("%s: Expired = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckAuthContext(t *testing.T) {
	idp := IdentityProvider{RequireAMR: []string{"mfa", "otp"}, RequireACR: []string{"urn:acme:loa:2"}}
	if err := idp.CheckAuthContext([]string{"pwd", "otp"}, "urn:acme:loa:2"); err != nil {
		t.Errorf("two factors refused: %v", err)
	}
	if err := idp.CheckAuthContext([]string{"pwd"}, "urn:acme:loa:2"); err == nil {
		t.Error("password alone accepted")
	}
	if err := idp.CheckAuthContext([]string{"otp"}, "urn:acme:loa:1"); err == nil {
		t.Error("low acr accepted")
	}
	if err := (&IdentityProvider{}).CheckAuthContext(nil, ""); err != nil {
		t.Errorf("no requirement: %v", err)
	}
}

func TestAccountModel(t *testing.T) {
	if !AccountModelNetwork.OneAccount(false) || !AccountModelConsent.OneAccount(true) || AccountModelConsent.OneAccount(false) {
		t.Error("OneAccount does not follow the account model")
	}
}
