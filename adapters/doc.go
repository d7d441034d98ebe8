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
// Vendor behaviour is data: the endpoint's fhir.Platform, read from
// configs/platforms/*.yaml, says what a platform refuses, and the Adapter
// reshapes requests by it. Code exists only where the data cannot say what to
// do:
//
//   - a search missing every parameter of Platform.Search.RequireOneOf is fanned
//     out over Platform.ObservationCategories (Epic will not search
//     Observations without a category or code) and the answers are merged,
//     dropping duplicates by id;
//   - a parameter of Platform.Search.RequireAll that the search lacks is added
//     with every code of its required value set (athena's MedicationRequest
//     intent), which changes nothing about what the search means;
//   - _count is capped at Platform.Search.MaxCount (Oracle Health: 200);
//   - when a pair of Platform.Search.Exclusive parameters meet and one is
//     _lastUpdated (Oracle Health: date with _lastUpdated), _lastUpdated is
//     applied here to what comes back; any other refused search fails with
//     ErrUnsupportedSearch before it leaves the gateway;
//   - OperationOutcome warnings inside searchsets (Epic) are handed back in
//     fhir.SearchResult.Outcomes.
//
// Every call has a deadline, idempotent reads are retried with exponential
// backoff, full jitter and the server's Retry-After, and a circuit breaker per
// endpoint stops calling an upstream that keeps failing. Tokens come from
// SMART Backend Services (client_credentials with a private_key_jwt assertion
// or a client secret), or from a token source the caller passes in, such as
// the one of a patient's standalone launch.
//
// The package exports concrete types only: the services that use an Adapter
// define the small interfaces they need.
package adapters
