package fhirtest

import (
	"net/http"
	"slices"

	"github.com/portalgate/portalgate/fhir"
)

// The CapabilityStatement, reduced to what clients read from it.
type (
	capabilityStatement struct {
		ResourceType   string            `json:"resourceType"`
		Status         string            `json:"status"`
		Date           string            `json:"date"`
		Publisher      string            `json:"publisher,omitempty"`
		Kind           string            `json:"kind"`
		Software       capSoftware       `json:"software"`
		Implementation capImplementation `json:"implementation"`
		FHIRVersion    string            `json:"fhirVersion"`
		Format         []string          `json:"format"`
		Rest           []capRest         `json:"rest"`
	}
	capSoftware struct {
		Name string `json:"name"`
	}
	capImplementation struct {
		Description string `json:"description"`
		URL         string `json:"url"`
	}
	capRest struct {
		Mode     string        `json:"mode"`
		Security *capSecurity  `json:"security,omitempty"`
		Resource []capResource `json:"resource"`
	}
	capSecurity struct {
		Extension []capExtension `json:"extension"`
		CORS      bool           `json:"cors"`
		Service   []capConcept   `json:"service"`
	}
	capExtension struct {
		URL       string         `json:"url"`
		ValueURI  string         `json:"valueUri,omitempty"`
		Extension []capExtension `json:"extension,omitempty"`
	}
	capConcept struct {
		Coding []fhir.Coding `json:"coding"`
		Text   string        `json:"text,omitempty"`
	}
	capResource struct {
		Type              string           `json:"type"`
		Interaction       []capInteraction `json:"interaction"`
		Versioning        string           `json:"versioning"`
		UpdateCreate      bool             `json:"updateCreate"`
		ConditionalCreate bool             `json:"conditionalCreate"`
		SearchInclude     []string         `json:"searchInclude,omitempty"`
		SearchRevInclude  []string         `json:"searchRevInclude,omitempty"`
		SearchParam       []capParam       `json:"searchParam"`
		Operation         []capOperation   `json:"operation,omitempty"`
	}
	capInteraction struct {
		Code string `json:"code"`
	}
	capParam struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	capOperation struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
	}
)

// capabilities answers GET metadata. It lists every type the server knows
// or holds; an Authorizer adds the SMART oauth-uris extension.
func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) {
	base := BaseURL(r)
	types := s.store.typeNames()
	for typ := range typeParams {
		if !slices.Contains(types, typ) {
			types = append(types, typ)
		}
	}
	slices.Sort(types)

	rest := capRest{Mode: "server"}
	if s.auth != nil {
		rest.Security = &capSecurity{
			CORS: true,
			Extension: []capExtension{{
				URL: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
				Extension: []capExtension{
					{URL: "authorize", ValueURI: base + "/auth/authorize"},
					{URL: "token", ValueURI: base + "/auth/token"},
				},
			}},
			Service: []capConcept{{
				Coding: []fhir.Coding{{System: "http://terminology.hl7.org/CodeSystem/restful-security-service", Code: "SMART-on-FHIR"}},
				Text:   "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
			}},
		}
	}
	for _, typ := range types {
		rest.Resource = append(rest.Resource, s.capResource(typ))
	}
	display := s.platform.Display
	if display == "" {
		display = s.platform.Name
	}
	body := marshalJSON(capabilityStatement{
		ResourceType:   "CapabilityStatement",
		Status:         "active",
		Date:           formatInstant(s.now()),
		Kind:           "instance",
		Software:       capSoftware{Name: "PortalGate fhirtest"},
		Implementation: capImplementation{Description: "Simulated FHIR R4 server (" + display + ")", URL: base},
		FHIRVersion:    "4.0.1",
		Format:         []string{"json", fhir.ContentType},
		Rest:           []capRest{rest},
	})
	writeFHIR(w, http.StatusOK, body)
}

func (s *Server) capResource(typ string) capResource {
	res := capResource{
		Type: typ,
		Interaction: []capInteraction{
			{Code: "read"}, {Code: "vread"}, {Code: "search-type"}, {Code: "create"}, {Code: "update"},
		},
		Versioning:        "versioned-update",
		UpdateCreate:      true,
		ConditionalCreate: true,
		SearchRevInclude:  []string{"Provenance:target"},
	}
	for _, def := range paramsOf(typ).list {
		res.SearchParam = append(res.SearchParam, capParam{Name: def.name, Type: string(def.typ)})
		if def.typ == referenceParam {
			res.SearchInclude = append(res.SearchInclude, res.Type+":"+def.name)
		}
	}
	if typ == "Patient" && s.platform.Everything {
		res.Operation = []capOperation{{Name: "everything", Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}
	}
	return res
}
