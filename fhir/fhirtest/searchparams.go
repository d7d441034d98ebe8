package fhirtest

import (
	"slices"
	"strings"
)

// paramType is a FHIR search parameter type. uri parameters are matched like
// tokens without a system.
type paramType string

const (
	tokenParam     paramType = "token"
	stringParam    paramType = "string"
	dateParam      paramType = "date"
	referenceParam paramType = "reference"
	uriParam       paramType = "uri"
)

// paramDef defines one search parameter of a resource type: where its values
// sit in the resource (dotted element paths; "x[x]" is a choice element) and,
// for references, the only resource type it points at.
type paramDef struct {
	name   string
	typ    paramType
	paths  []string
	target string
}

func token(name string, paths ...string) paramDef {
	return paramDef{name: name, typ: tokenParam, paths: paths}
}
func str(name string, paths ...string) paramDef {
	return paramDef{name: name, typ: stringParam, paths: paths}
}
func date(name string, paths ...string) paramDef {
	return paramDef{name: name, typ: dateParam, paths: paths}
}
func uri(name string, paths ...string) paramDef {
	return paramDef{name: name, typ: uriParam, paths: paths}
}
func ref(name string, paths ...string) paramDef {
	return paramDef{name: name, typ: referenceParam, paths: paths}
}

// refTo is a reference parameter restricted to one target type.
func refTo(name, target string, paths ...string) paramDef {
	return paramDef{name: name, typ: referenceParam, paths: paths, target: target}
}

// patientOf is the "patient" parameter: the compartment link of a type.
func patientOf(paths ...string) paramDef { return refTo("patient", "Patient", paths...) }

// Parameters every type has. _id and _lastUpdated are read from the record
// itself rather than from the resource's elements.
var commonParams = []paramDef{
	token("_id"),
	date("_lastUpdated"),
	token("_tag", "meta.tag"),
	uri("_profile", "meta.profile"),
}

// typeParams are the FHIR R4 search parameters (those US Core requires and
// the useful neighbours) of each supported resource type.
var typeParams = map[string][]paramDef{
	"Account": {patientOf("subject"), ref("subject", "subject"), token("status", "status"),
		token("type", "type"), token("identifier", "identifier"), ref("owner", "owner"), date("period", "servicePeriod")},
	"AllergyIntolerance": {patientOf("patient"), token("clinical-status", "clinicalStatus"),
		token("verification-status", "verificationStatus"), token("code", "code"), token("category", "category"),
		date("date", "recordedDate"), date("onset", "onset[x]")},
	"Appointment": {patientOf("participant.actor"), ref("actor", "participant.actor"),
		refTo("practitioner", "Practitioner", "participant.actor"), refTo("location", "Location", "participant.actor"),
		date("date", "start"), token("status", "status"), token("service-type", "serviceType"),
		token("appointment-type", "appointmentType"), token("identifier", "identifier"), ref("slot", "slot")},
	"CarePlan": {patientOf("subject"), ref("subject", "subject"), token("category", "category"),
		token("status", "status"), token("intent", "intent"), date("date", "period"), ref("encounter", "encounter")},
	"CareTeam": {patientOf("subject"), ref("subject", "subject"), token("status", "status"),
		token("category", "category"), date("date", "period"), ref("participant", "participant.member")},
	"Claim": {patientOf("patient"), token("status", "status"), token("use", "use"), date("created", "created"),
		token("identifier", "identifier")},
	"Communication": {patientOf("subject"), ref("subject", "subject"), ref("recipient", "recipient"),
		ref("sender", "sender"), token("category", "category"), token("status", "status"), date("sent", "sent"),
		date("received", "received"), ref("encounter", "encounter"), ref("part-of", "partOf"),
		token("identifier", "identifier")},
	"Condition": {patientOf("subject"), ref("subject", "subject"), token("category", "category"),
		token("clinical-status", "clinicalStatus"), token("verification-status", "verificationStatus"),
		token("code", "code"), date("onset-date", "onset[x]"), date("abatement-date", "abatement[x]"),
		date("recorded-date", "recordedDate"), ref("encounter", "encounter")},
	"Consent": {patientOf("patient"), token("status", "status"), token("category", "category"),
		token("scope", "scope"), date("date", "dateTime"), ref("actor", "provision.actor.reference")},
	"Coverage": {patientOf("beneficiary"), ref("beneficiary", "beneficiary"), ref("subscriber", "subscriber"),
		ref("payor", "payor"), token("status", "status"), token("type", "type"), token("identifier", "identifier")},
	"Device": {patientOf("patient"), token("type", "type"), token("status", "status"),
		token("identifier", "identifier")},
	"DiagnosticReport": {patientOf("subject"), ref("subject", "subject"), token("category", "category"),
		token("code", "code"), date("date", "effective[x]"), token("status", "status"),
		ref("encounter", "encounter"), ref("result", "result"), date("issued", "issued"),
		ref("performer", "performer")},
	"DocumentReference": {patientOf("subject"), ref("subject", "subject"), token("category", "category"),
		token("type", "type"), date("date", "date"), date("period", "context.period"), token("status", "status"),
		token("identifier", "identifier"), ref("encounter", "context.encounter"), ref("author", "author")},
	"Encounter": {patientOf("subject"), ref("subject", "subject"), date("date", "period"),
		token("status", "status"), token("class", "class"), token("type", "type"),
		token("identifier", "identifier"), ref("location", "location.location"),
		ref("participant", "participant.individual"),
		refTo("practitioner", "Practitioner", "participant.individual"),
		ref("service-provider", "serviceProvider"),
		token("discharge-disposition", "hospitalization.dischargeDisposition")},
	"Endpoint": {str("name", "name"), token("status", "status"), token("identifier", "identifier"),
		ref("organization", "managingOrganization"), token("connection-type", "connectionType")},
	"ExplanationOfBenefit": {patientOf("patient"), token("status", "status"), date("created", "created"),
		token("identifier", "identifier")},
	"Goal": {patientOf("subject"), ref("subject", "subject"), token("lifecycle-status", "lifecycleStatus"),
		token("achievement-status", "achievementStatus"), token("category", "category"),
		date("target-date", "target.due[x]"), date("start-date", "start[x]")},
	"ImagingStudy": {patientOf("subject"), ref("subject", "subject"), date("started", "started"),
		token("status", "status"), ref("encounter", "encounter"), token("identifier", "identifier")},
	"Immunization": {patientOf("patient"), date("date", "occurrence[x]"), token("status", "status"),
		token("vaccine-code", "vaccineCode"), ref("location", "location"), token("identifier", "identifier")},
	"Invoice": {patientOf("subject"), ref("subject", "subject"), token("status", "status"), date("date", "date"),
		ref("account", "account"), ref("issuer", "issuer"), token("identifier", "identifier")},
	"Location": {str("name", "name", "alias"), str("address", "address"), token("identifier", "identifier"),
		token("type", "type"), ref("organization", "managingOrganization")},
	"Media": {patientOf("subject"), ref("subject", "subject"), token("status", "status"),
		token("type", "type"), token("modality", "modality"), date("created", "created[x]"),
		ref("encounter", "encounter")},
	"Medication": {token("code", "code"), token("identifier", "identifier"), token("status", "status")},
	"MedicationDispense": {patientOf("subject"), ref("subject", "subject"), token("status", "status"),
		token("type", "type"), token("code", "medicationCodeableConcept"), ref("medication", "medicationReference"),
		date("whenhandedover", "whenHandedOver"), ref("prescription", "authorizingPrescription")},
	"MedicationRequest": {patientOf("subject"), ref("subject", "subject"), token("intent", "intent"),
		token("status", "status"), date("authoredon", "authoredOn"), ref("encounter", "encounter"),
		token("code", "medicationCodeableConcept"), ref("medication", "medicationReference"),
		token("category", "category"), ref("requester", "requester")},
	"Observation": {patientOf("subject"), ref("subject", "subject"), token("category", "category"),
		token("code", "code"), date("date", "effective[x]"), token("status", "status"),
		ref("encounter", "encounter"), token("value-concept", "valueCodeableConcept"),
		ref("performer", "performer"), ref("specimen", "specimen"), ref("has-member", "hasMember")},
	"Organization": {str("name", "name", "alias"), token("identifier", "identifier"), str("address", "address"),
		token("type", "type"), token("active", "active")},
	"Patient": {token("identifier", "identifier"), str("name", "name"), str("family", "name.family"),
		str("given", "name.given"), date("birthdate", "birthDate"), token("gender", "gender"),
		token("active", "active"), str("address", "address"), str("address-city", "address.city"),
		str("address-state", "address.state"), str("address-postalcode", "address.postalCode"),
		ref("general-practitioner", "generalPractitioner"), ref("organization", "managingOrganization")},
	"Person": {patientOf("link.target"), str("name", "name"), token("identifier", "identifier"),
		ref("link", "link.target")},
	"Practitioner": {str("name", "name"), str("family", "name.family"), str("given", "name.given"),
		token("identifier", "identifier"), token("active", "active")},
	"PractitionerRole": {ref("practitioner", "practitioner"), ref("organization", "organization"),
		ref("location", "location"), token("role", "code"), token("specialty", "specialty"),
		token("identifier", "identifier")},
	"Procedure": {patientOf("subject"), ref("subject", "subject"), token("code", "code"),
		date("date", "performed[x]"), token("status", "status"), token("category", "category"),
		ref("encounter", "encounter")},
	"Provenance": {patientOf("target"), ref("target", "target"), ref("agent", "agent.who"),
		date("recorded", "recorded"), ref("entity", "entity.what")},
	"QuestionnaireResponse": {patientOf("subject"), ref("subject", "subject"), date("authored", "authored"),
		token("status", "status"), uri("questionnaire", "questionnaire"), ref("author", "author"),
		ref("encounter", "encounter")},
	"RelatedPerson": {patientOf("patient"), token("identifier", "identifier"), str("name", "name"),
		token("relationship", "relationship"), token("gender", "gender"), date("birthdate", "birthDate"),
		token("active", "active")},
	"Schedule": {ref("actor", "actor"), token("active", "active"), date("date", "planningHorizon"),
		token("service-type", "serviceType")},
	"ServiceRequest": {patientOf("subject"), ref("subject", "subject"), token("category", "category"),
		token("code", "code"), date("authored", "authoredOn"), token("status", "status"), token("intent", "intent"),
		ref("encounter", "encounter"), ref("requester", "requester"), date("occurrence", "occurrence[x]"),
		token("identifier", "identifier")},
	"Slot": {ref("schedule", "schedule"), date("start", "start"), token("status", "status"),
		token("service-type", "serviceType")},
	"Specimen": {patientOf("subject"), ref("subject", "subject"), token("type", "type"),
		date("collected", "collection.collected[x]"), token("identifier", "identifier"),
		token("accession", "accessionIdentifier"), token("status", "status")},
	"Task": {patientOf("for"), ref("subject", "for"), ref("owner", "owner"), ref("requester", "requester"),
		token("status", "status"), token("intent", "intent"), token("code", "code"),
		date("authored-on", "authoredOn"), ref("focus", "focus"), token("business-status", "businessStatus"),
		date("period", "executionPeriod")},
}

// fallbackParams serve types without an entry in typeParams: a "patient"
// guessed from the usual elements, so that compartment rules still hold.
var fallbackParams = []paramDef{patientOf("subject", "patient", "beneficiary")}

// paramSet is the search parameters of one type, by name.
type paramSet struct {
	list   []paramDef
	byName map[string]*paramDef
}

func newParamSet(defs []paramDef) *paramSet {
	ps := &paramSet{list: append(slices.Clone(commonParams), defs...)}
	ps.byName = make(map[string]*paramDef, len(ps.list))
	for i := range ps.list {
		ps.byName[ps.list[i].name] = &ps.list[i]
	}
	return ps
}

var (
	knownParamSets = func() map[string]*paramSet {
		m := make(map[string]*paramSet, len(typeParams))
		for typ, defs := range typeParams {
			m[typ] = newParamSet(defs)
		}
		return m
	}()
	fallbackParamSet = newParamSet(fallbackParams)
)

// paramsOf returns the search parameters of a resource type.
func paramsOf(typ string) *paramSet {
	if ps, ok := knownParamSets[typ]; ok {
		return ps
	}
	return fallbackParamSet
}

// hasCompartment reports whether resources of typ belong to a patient's compartment.
func hasCompartment(typ string) bool {
	return typ == "Patient" || paramsOf(typ).byName["patient"] != nil
}

// lookupPath collects the values at a dotted path, flattening arrays.
// A step ending in "[x]" matches any choice element (effectiveDateTime,
// effectivePeriod…).
func lookupPath(node any, path string, out []any) []any {
	step, rest, more := strings.Cut(path, ".")
	obj, ok := node.(map[string]any)
	if !ok {
		if arr, isArr := node.([]any); isArr {
			for _, item := range arr {
				out = lookupPath(item, path, out)
			}
		}
		return out
	}
	var found []any
	if prefix, choice := strings.CutSuffix(step, "[x]"); choice {
		for key, v := range obj {
			if len(key) > len(prefix) && strings.HasPrefix(key, prefix) && isUpper(key[len(prefix)]) {
				found = append(found, v)
			}
		}
	} else if v, ok := obj[step]; ok {
		found = append(found, v)
	}
	for _, v := range found {
		if !more {
			out = appendFlat(out, v)
			continue
		}
		out = lookupPath(v, rest, out)
	}
	return out
}

func appendFlat(out []any, v any) []any {
	if arr, ok := v.([]any); ok {
		for _, item := range arr {
			out = appendFlat(out, item)
		}
		return out
	}
	return append(out, v)
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
