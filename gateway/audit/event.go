package audit

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portalgate/portalgate/fhir"
)

// ErrInvalid: an event or a page request is malformed. Messages name the field at fault,
// never its value.
var ErrInvalid = errors.New("audit: invalid argument")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Kind says what happened.
type Kind string

// The kinds of event.
const (
	// SignIn: an account signed in at the network's identity provider.
	SignIn Kind = "sign-in"
	// SignInFailed: a sign-in was refused (an identity provider error, a missing second
	// factor, an unknown login, ...).
	SignInFailed Kind = "sign-in-failed"
	// SignOut: an account signed out.
	SignOut Kind = "sign-out"
	// CodeRedeemed: an activation or invitation code tied an account to a person.
	CodeRedeemed Kind = "code-redeemed"
	// CodeRejected: a code was refused (wrong, expired, used, or the account is locked out).
	CodeRejected Kind = "code-rejected"
	// ConsentChanged: a person's consent to share was recorded.
	ConsentChanged Kind = "consent-changed"
	// RecordRead: a resource of a record was read (read, vread).
	RecordRead Kind = "record-read"
	// RecordSearch: records were searched (search-type, search-system, search) or an operation
	// such as $everything returned their content.
	RecordSearch Kind = "record-search"
	// RecordWrite: a resource of a record was created, updated, patched or deleted.
	RecordWrite Kind = "record-write"
	// PersonRegistered: an operator registered a person with their records, or replaced them.
	PersonRegistered Kind = "person-registered"
	// CodeIssued: an operator issued an activation or invitation code for a person's record.
	// The event never holds the code.
	CodeIssued Kind = "code-issued"
)

// operatorKinds are what only operators do, and operators do nothing else.
var operatorKinds = map[Kind]bool{PersonRegistered: true, CodeIssued: true}

// Outcome is how an action ended, as AuditEvent.outcome codes it. The zero value means "not
// said": kinds that imply their outcome (a SignIn succeeds, a CodeRejected fails) take it
// from the kind, the others must say.
type Outcome uint8

// The outcomes, with AuditEvent outcome codes 0, 4 and 8.
const (
	Success        Outcome = iota + 1 // 0: success
	MinorFailure                      // 4: the request was refused or failed, nothing harmed
	SeriousFailure                    // 8: the action was cut short by an error
)

var outcomeNames = [...]string{Success: "success", MinorFailure: "minor-failure", SeriousFailure: "serious-failure"}

// String returns "success", "minor-failure" or "serious-failure".
func (o Outcome) String() string {
	if o >= Success && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// MarshalText writes the outcome's name, for the portal's JSON.
func (o Outcome) MarshalText() ([]byte, error) {
	if o < Success || int(o) >= len(outcomeNames) {
		return nil, fmt.Errorf("audit: no name for outcome %d", uint8(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText reads an outcome's name.
func (o *Outcome) UnmarshalText(text []byte) error {
	for i, name := range outcomeNames {
		if name != "" && name == string(text) {
			*o = Outcome(i)
			return nil
		}
	}
	return invalidf("unknown outcome")
}

func (o Outcome) failed() bool { return o == MinorFailure || o == SeriousFailure }

// Record is a person's Patient at one org.
type Record struct {
	Org     string
	Patient string
}

// Event is what callers report. Identifiers are the gateway's own (network, person and org
// ids, FHIR resource ids); nothing here may hold clinical content, codes or tokens.
type Event struct {
	Kind    Kind
	Network string
	// Account is the login that acted, or "" when none is known (a failed sign-in). A login
	// not yet tied to a person is named by the id its account will have.
	Account string
	// Person is the person behind Account.
	Person string
	// Operator names the network operator who acted through the operator API; it is set
	// for PersonRegistered and CodeIssued, and only for them, in place of Account and Person.
	Operator string
	// Subject is the person whose records were touched when someone else acted: a proxy
	// (Person) or an operator; "" means Person. The event is shown to Subject (or Person) in
	// ForPerson.
	Subject string
	// Client is the OAuth client id of the app acting for the account; "" when the person
	// uses the network's own portal.
	Client string
	// ClientName is the app's registered name, shown to the patient instead of Client.
	ClientName string
	// ClientIP is the address the request came from. Required for record access and consent
	// changes, which always arrive over HTTP.
	ClientIP string
	// RequestID is the request's X-Request-Id, which ties the event to logs and to the other
	// events of the same request.
	RequestID string
	// Records are the patient records touched: one AuditEvent is written per record.
	Records []Record
	// ResourceType is the FHIR type read, searched or written ("Observation"); for consent
	// changes it is "Consent" (the default).
	ResourceType string
	// ResourceID is the id of the resource read or written, when there is one.
	ResourceID string
	// Interaction is the FHIR RESTful interaction: read or vread for RecordRead (default
	// read); search-type, search-system, search or operation for RecordSearch (default
	// search-type, or search-system without a ResourceType); create, update, patch or delete
	// for RecordWrite (required); create or update for ConsentChanged (default create, as
	// each choice is a new Consent); update for PersonRegistered (the default: the operator
	// puts the whole person, new or not), whose resource is Person/{Subject}.
	Interaction string
	// Operation names the operation of Interaction "operation", without its "$" ("everything").
	Operation string
	// SearchParams are the NAMES of the search parameters used, never their values.
	SearchParams []string
	Outcome      Outcome
	// Detail says why an action failed, as a fixed phrase ("wrong activation code",
	// "upstream timeout"), never an upstream's error text. It is kept only when the outcome
	// is a failure, so that no successful access can carry free text; it is cut to
	// maxDetail bytes and control characters become spaces.
	Detail string
}

// Limits on what one event may carry.
const (
	maxRecords      = 64
	maxSearchParams = 64
	maxDetail       = 256
	maxToken        = 256
	maxClientName   = 200
)

// interactionRule is which FHIR interactions a kind accepts and which it takes when none is
// given ("" when one must be).
type interactionRule struct {
	allowed []string
	def     string
}

// interactions holds the rule of each RESTful kind; the others take no interaction.
var interactions = map[Kind]interactionRule{
	SignIn:         {},
	SignInFailed:   {},
	SignOut:        {},
	CodeRedeemed:   {},
	CodeRejected:   {},
	ConsentChanged: {[]string{"create", "update"}, "create"},
	RecordRead:     {[]string{"read", "vread"}, "read"},
	RecordSearch:   {[]string{"search-type", "search-system", "search", "operation"}, "search-type"},
	RecordWrite:    {[]string{"create", "update", "patch", "delete"}, ""},
	// PersonRegistered is RESTful: the operator API puts a Person.
	PersonRegistered: {[]string{"update"}, "update"},
	CodeIssued:       {},
}

// impliedOutcome is the outcome of kinds that can only end one way.
var impliedOutcome = map[Kind]Outcome{
	SignIn:       Success,
	SignOut:      Success,
	CodeRedeemed: Success,
	SignInFailed: MinorFailure,
	CodeRejected: MinorFailure,
	// Operators' refused calls change nothing and are not audited.
	PersonRegistered: Success,
	CodeIssued:       Success,
}

// normalize checks e and fills in its defaults, returning the event to build.
func (e Event) normalize() (Event, error) {
	rule, ok := interactions[e.Kind]
	if !ok {
		return e, invalidf("unknown event kind")
	}
	if err := checkID("network", e.Network); err != nil {
		return e, err
	}
	for _, f := range []struct{ name, value string }{{"person", e.Person}, {"subject", e.Subject}} {
		if f.value != "" {
			if err := checkID(f.name, f.value); err != nil {
				return e, err
			}
		}
	}
	for _, f := range []struct{ name, value string }{
		{"account", e.Account}, {"operator", e.Operator}, {"client", e.Client}, {"request id", e.RequestID},
	} {
		if err := checkToken(f.name, f.value); err != nil {
			return e, err
		}
	}
	if err := e.checkActor(); err != nil {
		return e, err
	}
	if err := checkText("client name", e.ClientName, maxClientName); err != nil {
		return e, err
	}
	if e.ClientIP != "" {
		if _, err := netip.ParseAddr(e.ClientIP); err != nil {
			return e, invalidf("client IP is not an IP address")
		}
	}

	if e.Interaction == "" {
		e.Interaction = rule.def
		if e.Kind == RecordSearch && e.ResourceType == "" {
			e.Interaction = "search-system"
		}
	}
	switch {
	case e.Interaction == "" && len(rule.allowed) > 0:
		return e, invalidf("a %s event needs its interaction", e.Kind)
	case e.Interaction != "" && !slices.Contains(rule.allowed, e.Interaction):
		return e, invalidf("the interaction does not fit a %s event", e.Kind)
	}
	if e.Interaction != "" && e.ClientIP == "" {
		return e, invalidf("a %s event needs the client IP: record access always comes over HTTP", e.Kind)
	}
	if err := e.checkResource(); err != nil {
		return e, err
	}
	if err := e.checkRecords(); err != nil {
		return e, err
	}
	if err := e.checkOutcome(); err != nil {
		return e, err
	}
	if e.Outcome.failed() {
		e.Detail = cleanDetail(e.Detail)
	} else {
		e.Detail = ""
	}
	e.SearchParams = sortedNames(e.SearchParams)
	return e, nil
}

// checkActor holds operators to their own kinds: an operator acts on a person, and nobody
// else acts in an operator's event.
func (e *Event) checkActor() error {
	switch {
	case !operatorKinds[e.Kind] && e.Operator != "":
		return invalidf("an operator acts only in %s and %s events", PersonRegistered, CodeIssued)
	case !operatorKinds[e.Kind]:
		return nil
	case e.Operator == "" || e.Subject == "":
		return invalidf("a %s event needs the operator and the person acted on (subject)", e.Kind)
	case e.Account != "" || e.Person != "" || e.Client != "" || e.ClientName != "":
		return invalidf("in a %s event only the operator acts: no account, person or app", e.Kind)
	}
	return nil
}

func (e *Event) checkResource() error {
	rest := e.Interaction != ""
	switch e.Kind {
	case ConsentChanged:
		if e.ResourceType == "" {
			e.ResourceType = "Consent"
		}
		if e.ResourceType != "Consent" {
			return invalidf("a consent change writes a Consent")
		}
	case PersonRegistered:
		if e.ResourceType == "" && e.ResourceID == "" {
			e.ResourceType, e.ResourceID = "Person", e.Subject
		}
		if e.ResourceType != "Person" || e.ResourceID != e.Subject {
			return invalidf("a registration writes the Person of its subject")
		}
	}
	switch {
	case !rest && (e.ResourceType != "" || e.ResourceID != "" || len(e.SearchParams) > 0 || e.Operation != ""):
		return invalidf("a %s event names no resource", e.Kind)
	case rest && e.Kind != RecordSearch && e.ResourceType == "":
		return invalidf("a %s event needs its resource type", e.Kind)
	case e.ResourceType != "" && !isResourceType(e.ResourceType):
		return invalidf("resource type is not a FHIR resource type name")
	case e.Interaction == "search-system" && e.ResourceType != "":
		return invalidf("a system-wide search names no resource type")
	case e.Kind == RecordSearch && e.ResourceID != "" && e.Interaction != "operation":
		return invalidf("a search names no resource id; an instance operation does")
	case (e.Operation != "") != (e.Interaction == "operation"):
		return invalidf("an operation name goes with interaction \"operation\" only")
	case e.Operation != "" && !isOperationName(e.Operation):
		return invalidf("operation name must be letters, digits and '-', without \"$\"")
	case len(e.SearchParams) > 0 && e.Kind != RecordSearch:
		return invalidf("search parameters go with record searches only")
	case len(e.SearchParams) > maxSearchParams:
		return invalidf("more than %d search parameters", maxSearchParams)
	}
	if e.ResourceID != "" {
		if err := checkID("resource id", e.ResourceID); err != nil {
			return err
		}
	}
	for i, name := range e.SearchParams {
		if !ValidSearchParamName(name) {
			return invalidf("search parameter %d is not a parameter name", i)
		}
	}
	return nil
}

func (e *Event) checkRecords() error {
	switch {
	case len(e.Records) > maxRecords:
		return invalidf("more than %d records in one event", maxRecords)
	case len(e.Records) > 0 && (e.Kind == SignIn || e.Kind == SignInFailed || e.Kind == SignOut):
		return invalidf("a %s event touches no record", e.Kind)
	}
	for i, r := range e.Records {
		if err := checkID(fmt.Sprintf("org of record %d", i), r.Org); err != nil {
			return err
		}
		if err := checkID(fmt.Sprintf("patient of record %d", i), r.Patient); err != nil {
			return err
		}
	}
	return nil
}

func (e *Event) checkOutcome() error {
	implied, fixed := impliedOutcome[e.Kind]
	switch {
	case e.Outcome == 0 && fixed:
		e.Outcome = implied
	case e.Outcome == 0:
		return invalidf("a %s event needs its outcome", e.Kind)
	case e.Outcome > SeriousFailure:
		return invalidf("unknown outcome")
	case fixed && e.Outcome.failed() != implied.failed():
		return invalidf("a %s event cannot have outcome %s", e.Kind, e.Outcome)
	}
	return nil
}

// indexedPerson is whose log the event also goes to: the person whose records (or sign-in)
// it concerns.
func (e *Event) indexedPerson() string {
	if e.Subject != "" {
		return e.Subject
	}
	return e.Person
}

// checkID checks an id against FHIR's rules for resource ids, which also keeps it safe in log
// names and references.
func checkID(what, id string) error {
	switch {
	case id == "":
		return invalidf("%s is required", what)
	case !fhir.ValidID(id):
		return invalidf("%s must be 1 to %d letters, digits, '-' and '.'", what, fhir.MaxIDLen)
	}
	return nil
}

// checkToken accepts "" or up to maxToken bytes of printable ASCII without spaces.
func checkToken(what, s string) error {
	if len(s) > maxToken {
		return invalidf("%s is longer than %d bytes", what, maxToken)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return invalidf("%s may hold only printable ASCII without spaces", what)
		}
	}
	return nil
}

// checkText accepts "" or valid UTF-8 without control characters, up to limit bytes.
func checkText(what, s string, limit int) error {
	switch {
	case len(s) > limit:
		return invalidf("%s is longer than %d bytes", what, limit)
	case !utf8.ValidString(s):
		return invalidf("%s is not valid UTF-8", what)
	case strings.ContainsFunc(s, unicode.IsControl):
		return invalidf("%s holds control characters", what)
	}
	return nil
}

// cleanDetail makes a failure's detail fit to store: valid UTF-8, no control characters
// (which could forge lines in a viewer), at most maxDetail bytes.
func cleanDetail(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// isResourceType accepts names shaped like FHIR resource types: an upper-case letter, then
// letters, at most 64.
func isResourceType(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// ValidSearchParamName accepts the shapes of FHIR search parameter names, with modifiers and
// chains ("code:text", "subject:Patient.name", "_has:Observation:patient:code"), and nothing
// that could carry a value: no '=', '&', spaces or quotes.
// ValidSearchParamName reports whether s can be the name of a search parameter in an event.
func ValidSearchParamName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	if c := s[0]; !isAlnum(c) && c != '_' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' && c != ':' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isOperationName accepts FHIR operation names without their "$": "everything",
// "validate-code".
func isOperationName(s string) bool {
	if s == "" || len(s) > 64 || !isAlnum(s[0]) || s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// sortedNames returns the distinct names, sorted, without touching the caller's slice: the
// order of parameters in a request says nothing worth keeping.
func sortedNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
