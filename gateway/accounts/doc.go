// Package accounts owns the people a network serves and the logins tied to them: persons with
// their records (a Patient at each org, each held by one person of the network at a time),
// accounts (an OpenID Connect issuer and subject at the network's provider), proxy grants (who
// may act for whom), one-time activation and invitation codes, enrollment (redeeming a code
// ties an account to a person, with attempt limits against guessing and the network's minimum
// age), and each person's consent to share across the network, kept as a FHIR R4 Consent with
// its history.
//
// It also decides which records an account sees under the network's account model
// (DESIGN §6): in a "network" network every account of a person sees all of their records at
// affiliated orgs; in a "consent" network that holds only while the person consents to share,
// and otherwise each account sees the record at the org whose code enrolled it, nothing more.
// The answer is computed at request time, so a change of consent takes effect at once.
//
// Everything lives on the storage port (package store), so any number of replicas share it:
// attempt counters and single-use codes change only through Create and CompareAndSwap.
// Codes are kept only as SHA-256 hashes. Nothing here logs, and errors never carry codes,
// subjects or clinical data.
//
// The package has no HTTP: handlers in package gateway translate requests into calls on
// Service.
package accounts
