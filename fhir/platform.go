package fhir

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// Platform describes how one EHR platform's FHIR R4 API departs from the
// plain specification. It is data (configs/platforms/*.yaml) read by both
// sides: adapters shape their requests by it, and fhirtest servers imitate it.
type Platform struct {
	// Name is the platform key: epic, cerner, athena, smart.
	Name    string `yaml:"name" json:"name"`
	Display string `yaml:"display" json:"display"`

	// Adapter names the code that goes with this data where the data cannot
	// say what to do: the platform adapter registered under that name
	// (package adapters). Empty means the platform's own name; naming
	// another lets several platform files, such as a vendor's test and
	// production sites, share one adapter.
	Adapter string `yaml:"adapter" json:"adapter"`

	Search SearchQuirks `yaml:"search" json:"search"`

	// Everything says whether Patient/$everything is supported.
	Everything bool `yaml:"everything" json:"everything"`

	// PreviousRelation is how the platform names the previous-page link:
	// "previous" or "prev".
	PreviousRelation string `yaml:"previousRelation" json:"previousRelation"`

	// ObservationCategories are the categories a client fans out over when
	// the platform will not search Observations without one.
	ObservationCategories []string `yaml:"observationCategories" json:"observationCategories"`

	Auth AuthQuirks `yaml:"auth" json:"auth"`
}

// SearchQuirks are the platform's rules for search requests.
type SearchQuirks struct {
	// MaxCount caps _count; 0 means no cap.
	MaxCount int `yaml:"maxCount" json:"maxCount"`
	// DefaultCount is the page size when a request names none; 0 means the server's own.
	DefaultCount int `yaml:"defaultCount" json:"defaultCount"`
	// RequireOneOf lists, per resource type, parameters of which a search
	// must carry at least one (Epic: Observation needs category or code).
	RequireOneOf map[string][]string `yaml:"requireOneOf" json:"requireOneOf"`
	// RequireAll lists, per resource type, parameters a search must carry
	// (athena: MedicationRequest needs intent). "*" applies to every type.
	RequireAll map[string][]string `yaml:"requireAll" json:"requireAll"`
	// Exclusive lists parameter pairs that may not be combined
	// (Oracle Health: date with _lastUpdated).
	Exclusive [][]string `yaml:"exclusive" json:"exclusive"`
	// OutcomeWarnings says the platform puts OperationOutcome warnings
	// inside searchsets (entry.search.mode = outcome).
	OutcomeWarnings bool `yaml:"outcomeWarnings" json:"outcomeWarnings"`
}

// AuthQuirks are the platform's authorization expectations.
type AuthQuirks struct {
	// BackendClientAuth is the client authentication the platform wants for
	// backend services: private_key_jwt or client_secret_basic.
	BackendClientAuth string `yaml:"backendClientAuth" json:"backendClientAuth"`
	// BackendAssertionAlg is the JWS algorithm of the client assertion (RS384, ES384).
	BackendAssertionAlg string `yaml:"backendAssertionAlg" json:"backendAssertionAlg"`
}

// ParsePlatform decodes and checks a platform quirk file.
func ParsePlatform(data []byte) (Platform, error) {
	var p Platform
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Platform{}, fmt.Errorf("fhir: platform quirks: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Platform{}, err
	}
	return p, nil
}

// Validate reports the first inconsistency in the description.
func (p Platform) Validate() error {
	if p.Name == "" {
		return fmt.Errorf("fhir: platform quirks: name is required")
	}
	if p.Adapter != "" && !adapterName.MatchString(p.Adapter) {
		return fmt.Errorf("fhir: platform %s: adapter %q is not a name (lowercase letters, digits and hyphens)", p.Name, p.Adapter)
	}
	if p.Search.MaxCount < 0 || p.Search.DefaultCount < 0 {
		return fmt.Errorf("fhir: platform %s: search counts must not be negative", p.Name)
	}
	if p.Search.MaxCount > 0 && p.Search.DefaultCount > p.Search.MaxCount {
		return fmt.Errorf("fhir: platform %s: defaultCount %d exceeds maxCount %d", p.Name, p.Search.DefaultCount, p.Search.MaxCount)
	}
	switch p.PreviousRelation {
	case "", "previous", "prev":
	default:
		return fmt.Errorf("fhir: platform %s: previousRelation must be previous or prev, not %q", p.Name, p.PreviousRelation)
	}
	for _, pair := range p.Search.Exclusive {
		if len(pair) != 2 {
			return fmt.Errorf("fhir: platform %s: each exclusive entry names two parameters", p.Name)
		}
	}
	switch p.Auth.BackendClientAuth {
	case "", "private_key_jwt", "client_secret_basic":
	default:
		return fmt.Errorf("fhir: platform %s: backendClientAuth %q is not supported", p.Name, p.Auth.BackendClientAuth)
	}
	return nil
}

// adapterName is the form of an adapter's name, as its platform files and
// its package are named.
var adapterName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// AdapterName returns the name of the adapter the platform's data goes with:
// Adapter, or the platform's name when Adapter is empty.
func (p Platform) AdapterName() string {
	if p.Adapter != "" {
		return p.Adapter
	}
	return p.Name
}

// CheckSearch reports why the platform would refuse a search of typ with the
// named parameters (modifiers stripped), or nil when it would accept it.
func (p Platform) CheckSearch(typ string, params []string) error {
	has := func(name string) bool { return slices.Contains(params, name) }
	for _, key := range []string{typ, "*"} {
		for _, name := range p.Search.RequireAll[key] {
			if !has(name) {
				return fmt.Errorf("%s search requires the %s parameter", typ, name)
			}
		}
	}
	if oneOf := p.Search.RequireOneOf[typ]; len(oneOf) > 0 && !slices.ContainsFunc(oneOf, has) {
		return fmt.Errorf("%s search requires one of these parameters: %v", typ, oneOf)
	}
	for _, pair := range p.Search.Exclusive {
		if has(pair[0]) && has(pair[1]) {
			return fmt.Errorf("%s search cannot combine %s with %s", typ, pair[0], pair[1])
		}
	}
	return nil
}

// PageSize returns the page size to use for a requested _count (0 = none given).
func (p Platform) PageSize(requested int) int {
	n := requested
	if n <= 0 {
		n = p.Search.DefaultCount
	}
	if p.Search.MaxCount > 0 && n > p.Search.MaxCount {
		n = p.Search.MaxCount
	}
	return n
}
