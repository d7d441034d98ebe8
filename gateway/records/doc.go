// Package records owns the record service: reading a person's records from every org an
// access decision allows and handing them back as one record (DESIGN §3).
//
// A search fans out to the decision's records in parallel under one deadline, each upstream
// search narrowed to its record's patient and ANDed with the decision's AddParams. Each
// upstream answer is cached per (org, patient, type, query) in the storage port, encrypted
// with AES-256-GCM under rotatable keys and expiring after a TTL (DESIGN §5); identical
// searches in flight at once share one upstream call (singleflight). The answers are merged
// and deduplicated across orgs with fhir.Merge, which tags every resource with its source
// org, and every resource then goes through the decision's PostProcess, so that release
// rules and grants apply to what leaves the gateway.
//
// An org that fails, is slow or sends what cannot be read never hides the others: the
// search still answers, with an OrgOutcome naming the org and a reason a patient can read
// (no upstream text). Bundle writes both as a FHIR searchset, one OperationOutcome entry per
// such org.
//
// The cache holds upstream answers as they came, before merging and filtering: decisions
// change (a result's release time passes, an app's grants narrow), so they are applied on
// every read. Cache keys carry no patient id in clear, only a hash of it. Answers are
// written behind the search that fetched them, served from memory until the write lands, so
// no search waits on the store; Service.Close waits for those writes.
package records
