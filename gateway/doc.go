// Package gateway owns PortalGate's HTTP surface: the Gin engine and its
// routing, the middleware every request passes through (request id,
// recover, security headers, access log, metrics), the error formats of
// each surface (problem details for the portal API, OperationOutcome for
// the FHIR face), the operational endpoints (/healthz, /readyz, /metrics)
// and graceful serving. The portal API and FHIR face handlers are mounted
// here too.
//
// The domain services (the access decision, the record service, identity
// and sessions, linking and sync, the SMART authorization server, storage)
// live in sub-packages. Handlers in this package only translate HTTP into
// calls on them and their results back into HTTP.
//
// Logs and metrics never carry what may be clinical data: they name the
// route template ("/fhir/:network/Patient/:id"), never the raw path, the
// query string or a body.
package gateway
