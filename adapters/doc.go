// Package adapters owns the gateway's calls to upstream EHRs: one Adapter per
// Endpoint, whatever its platform (Epic, Oracle Health, athena, any SMART on
// FHIR R4 server).
//
// The package depends on fhir alone and knows nothing of the configuration:
// the gateway describes each configured endpoint (tenants.Endpoint) as an
// Endpoint, with the endpoint's quirks as its Platform and its auth kind
// mapped by name (backend-services to AuthBackendServices, none to AuthNone,
// standalone to AuthTokenSource, the patient's tokens then coming in
// Options.TokenSource).
//
// This package holds what every platform shares. Every call has a deadline,
// idempotent reads are retried with exponential backoff, full jitter and the
// server's Retry-After, and a circuit breaker per endpoint stops calling an
// upstream that keeps failing. Tokens come from SMART Backend Services
// (client_credentials with a private_key_jwt assertion or a client secret),
// fetched once however many calls wait for one, or from a token source the
// caller passes in, such as the one of a patient's standalone launch. A
// search follows every page.
//
// Vendor behaviour is data first: the endpoint's fhir.Platform, read from
// configs/platforms/*.yaml, says what a platform refuses, and this package
// applies it to every search sent upstream: _count is capped at
// Platform.Search.MaxCount (Oracle Health: 200), and a search the data says
// the platform refuses (a missing required parameter, an exclusive pair)
// fails with ErrUnsupportedSearch before it leaves the gateway.
//
// Code exists only where the data cannot say what to do, one package per
// platform, each behind the one small interface Quirks, which reshapes a
// search and sends it through a Searcher that applies the data's rules:
//
//   - adapters/epic fans an Observation search without category or code out
//     over Platform.ObservationCategories, merging the answers without
//     duplicates, and hands Epic's in-searchset OperationOutcome warnings
//     back once each in fhir.SearchResult.Outcomes;
//   - adapters/cerner applies _lastUpdated itself to what comes back when
//     the search pairs it with a parameter Oracle Health refuses beside it
//     (date);
//   - adapters/athena adds a required parameter a search lacks with every
//     code of its required value set (MedicationRequest intent);
//   - adapters/smart has no code: a plain R4 server needs none.
//
// A platform file names its code by the adapter's name (fhir.Platform.Adapter,
// its own name by default). Platform packages register themselves under that
// name from init, as database/sql drivers do (Register says why), and
// adapters/all imports every one PortalGate ships: New refuses a platform
// whose adapter is not registered.
//
// The package exports concrete types, and the one interface platform
// packages implement: the services that use an Adapter define the small
// interfaces they need.
package adapters
