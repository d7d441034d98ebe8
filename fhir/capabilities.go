package fhir

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Capabilities is the part of a server's CapabilityStatement that callers
// plan with; Raw keeps the whole statement.
type Capabilities struct {
	FHIRVersion string
	Formats     []string
	// Resources maps a resource type to what the server does with it.
	Resources map[string]ResourceCapability
	// AuthorizeURL and TokenURL come from the SMART oauth-uris extension.
	AuthorizeURL string
	TokenURL     string
	Raw          json.RawMessage
}

// ResourceCapability is what a server supports for one resource type.
type ResourceCapability struct {
	Interactions []string // read, search-type, create, update, …
	SearchParams []string
	Operations   []string // without the "$"
}

const oauthURIs = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

// capabilityStatement mirrors the elements of a CapabilityStatement read here.
type capabilityStatement struct {
	ResourceType string   `json:"resourceType"`
	FHIRVersion  string   `json:"fhirVersion"`
	Format       []string `json:"format"`
	Rest         []struct {
		Mode     string `json:"mode"`
		Security *struct {
			Extension []extension `json:"extension"`
		} `json:"security"`
		Resource []struct {
			Type        string `json:"type"`
			Interaction []struct {
				Code string `json:"code"`
			} `json:"interaction"`
			SearchParam []struct {
				Name string `json:"name"`
			} `json:"searchParam"`
			Operation []struct {
				Name string `json:"name"`
			} `json:"operation"`
		} `json:"resource"`
	} `json:"rest"`
}

type extension struct {
	URL       string      `json:"url"`
	ValueURI  string      `json:"valueUri"`
	Extension []extension `json:"extension"`
}

// ParseCapabilities reads a CapabilityStatement.
func ParseCapabilities(raw []byte) (*Capabilities, error) {
	var cs capabilityStatement
	if err := json.Unmarshal(raw, &cs); err != nil {
		return nil, fmt.Errorf("fhir: decoding CapabilityStatement: %w", err)
	}
	if cs.ResourceType != "CapabilityStatement" {
		return nil, fmt.Errorf("fhir: expected a CapabilityStatement, got resourceType %q", cs.ResourceType)
	}
	caps := &Capabilities{
		FHIRVersion: cs.FHIRVersion,
		Formats:     cs.Format,
		Resources:   map[string]ResourceCapability{},
		Raw:         raw,
	}
	for _, rest := range cs.Rest {
		if rest.Mode != "" && rest.Mode != "server" {
			continue
		}
		if rest.Security != nil {
			for _, ext := range rest.Security.Extension {
				if ext.URL != oauthURIs {
					continue
				}
				for _, sub := range ext.Extension {
					switch sub.URL {
					case "authorize":
						caps.AuthorizeURL = sub.ValueURI
					case "token":
						caps.TokenURL = sub.ValueURI
					}
				}
			}
		}
		for _, r := range rest.Resource {
			rc := caps.Resources[r.Type]
			for _, i := range r.Interaction {
				rc.Interactions = append(rc.Interactions, i.Code)
			}
			for _, p := range r.SearchParam {
				rc.SearchParams = append(rc.SearchParams, p.Name)
			}
			for _, o := range r.Operation {
				rc.Operations = append(rc.Operations, o.Name)
			}
			caps.Resources[r.Type] = rc
		}
	}
	return caps, nil
}

// Supports reports whether the server declares the interaction on typ.
func (c *Capabilities) Supports(typ, interaction string) bool {
	return slices.Contains(c.Resources[typ].Interactions, interaction)
}

// SearchParam reports whether the server declares the search parameter on typ.
func (c *Capabilities) SearchParam(typ, name string) bool {
	return slices.Contains(c.Resources[typ].SearchParams, name)
}

// Operation reports whether the server declares the operation (with or
// without its "$") on typ.
func (c *Capabilities) Operation(typ, name string) bool {
	ops := c.Resources[typ].Operations
	return slices.Contains(ops, name) || (len(name) > 1 && name[0] == '$' && slices.Contains(ops, name[1:]))
}
