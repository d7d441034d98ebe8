// Package fhirtest provides an in-memory FHIR R4 server for tests and the
// sandbox, as natural to use as net/http/httptest: load bundles or NDJSON,
// then read, search, page, create and update over HTTP. A server can imitate
// a platform's quirks (fhir.Platform), be guarded by an Authorizer, and be
// told to misbehave (latency, errors, 429s, downtime, malformed replies).
//
// SharedData finds the project's shared set of real synthetic records, for
// tests over FHIR data in any package.
package fhirtest
