// Package fhir owns the FHIR R4 plumbing shared by the gateway, the upstream
// adapters and the simulated servers: an HTTP client that follows every page
// of a search, a light Bundle view that keeps resources as raw JSON, decoding
// into golang-fhir-models structs that tolerates codes the generated enums do
// not know, OperationOutcome errors, search-parameter parsing, loading of
// transaction bundles and NDJSON, the description of platform quirks, and
// the merge and dedupe of what several orgs report about one person.
//
// Resources travel as raw JSON so that what an upstream sent is passed on
// byte for byte; structs are for reading fields and building new resources.
// The few changes made to a resource in transit (id, meta, references) are
// small edits of its bytes: Members, SetMembers and EditMeta.
//
// This package depends on nothing else in the module.
package fhir
