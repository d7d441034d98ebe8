// Package access owns the access decision: the one function that says, for every read and
// every write of a record (the portal API, the FHIR face, SMART apps, share codes), whether the
// actor may make the request, on which records, over which resource types and categories, and
// what must be done to what comes back (DESIGN §3). Nothing reads a record without it.
//
// It follows the shape of the FHIR Info Gateway's AccessDecision: a Decision says whether the
// request may go on (Allowed, or a Status and a Reason a patient can read), how the request is
// narrowed before it reaches an upstream (Records to read, AddParams to AND into a search),
// how each returned resource is post-processed (Filters, applied by PostProcess), and whom the
// access is about (Audit, for the audit trail).
//
// What an actor may do is a set of Grants: a resource type (or "*"), SMART v2 interaction
// letters (cruds), and conditions on the resource's category or code. The patient's own
// portal holds every grant; the FHIR face reads only; a SMART app or a share code holds what
// its scopes say (ParseScope reads SMART v1 and v2 scopes, fine-grained ones included), never
// more than the purpose allows. Results the network has not released yet (tenants.ResultPolicy)
// are rewritten by a ReleaseFilter for every actor, so that no value of a held or pending result
// leaves the gateway.
//
// For now a person sees only their own records: a request for another person's records is
// refused, and proxies (tenants.Policy.ProxyAccess) plug in where that refusal is made,
// as more grants to intersect, without changing Request or Decision.
//
// The package has no HTTP, no storage and no logging: callers pass what the account may see
// (from accounts.Visible), and the network policy comes from the tenants configuration.
package access
