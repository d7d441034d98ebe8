package tenants

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portalgate/portalgate/fhir"
)

// Coding is a code in a code system, as in a FHIR Coding.
type Coding struct {
	System string
	Code   string
}

// CodeToken is a FHIR token (fhir.Token) as a policy file writes it:
// "system|code" matches that code in that system, "system|" any code in the
// system, "code" that code in any system, and "|code" that code without a
// system. Policy files are stricter than search URLs: no surrounding space
// and at most one "|".
type CodeToken struct{ fhir.Token }

// ParseCodeToken parses "system|code", "system|", "|code" or "code".
func ParseCodeToken(s string) (CodeToken, error) {
	switch {
	case strings.TrimSpace(s) != s:
		return CodeToken{}, fmt.Errorf("invalid code %q: surrounding space", s)
	case strings.Count(s, "|") > 1:
		return CodeToken{}, fmt.Errorf("invalid code %q: more than one |", s)
	}
	t, err := fhir.ParseToken(s)
	if err != nil {
		return CodeToken{}, fmt.Errorf("invalid code %q: want system|code", s)
	}
	return CodeToken{t}, nil
}

// Matches reports whether the token matches a coding.
func (t CodeToken) Matches(c Coding) bool { return t.Token.Matches(c.System, c.Code) }

func (t CodeToken) String() string {
	if !t.SystemSet {
		return t.Code
	}
	return t.System + "|" + t.Code
}

func (t *CodeToken) UnmarshalText(text []byte) error {
	parsed, err := ParseCodeToken(string(text))
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

func (t CodeToken) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// ResultPolicy decides when a patient sees a result.
type ResultPolicy struct {
	// HeldForClinician lists results a clinician releases first
	// (sensitive codes), as system|code tokens.
	HeldForClinician []CodeToken `yaml:"heldForClinician"`
	// AutoReleaseAfter is how long after it is issued any other result
	// becomes visible; 0 releases at once.
	AutoReleaseAfter Duration `yaml:"autoReleaseAfter"`
}

// ReleaseState says whether a patient may see a result yet.
type ReleaseState string

const (
	// ResultReleased: visible to the patient.
	ResultReleased ReleaseState = "released"
	// ResultPending: visible from ResultRelease.At on.
	ResultPending ReleaseState = "pending"
	// ResultHeld: visible only after a clinician releases it.
	ResultHeld ReleaseState = "held-for-clinician"
)

// ResultRelease is a result's release state and, unless it waits for a
// clinician, the instant it is (or was) released.
type ResultRelease struct {
	State ReleaseState
	At    time.Time
}

// Holds reports whether any of the codings is held for a clinician.
func (p ResultPolicy) Holds(codes []Coding) bool {
	return slices.ContainsFunc(codes, func(c Coding) bool {
		return slices.ContainsFunc(p.HeldForClinician, func(t CodeToken) bool { return t.Matches(c) })
	})
}

// ReleaseState returns a result's state at now. codes are the result's
// codings (Observation.code or DiagnosticReport.code); issued is when it was
// made available (the resource's issued, else its effective time). A result
// with no issue time is held for a clinician: without one, no delay can run.
// A clinician's explicit release overrides this and is recorded elsewhere.
func (p ResultPolicy) ReleaseState(codes []Coding, issued, now time.Time) ResultRelease {
	if p.Holds(codes) || issued.IsZero() {
		return ResultRelease{State: ResultHeld}
	}
	at := issued.Add(p.AutoReleaseAfter.Std())
	if now.Before(at) {
		return ResultRelease{State: ResultPending, At: at}
	}
	return ResultRelease{State: ResultReleased, At: at}
}
