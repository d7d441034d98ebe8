// Package synth generates synthetic FHIR R4 records, deterministically, for
// what Synthea leaves out: practitioners' schedules and bookable slots,
// appointments, message threads, billing accounts and invoices, coverage,
// family members, results a network holds as sensitive, and results recent
// enough to fall inside a release delay.
//
// Record and Records write complete records at one org (the org, its
// clinic and clinicians, then per person a Patient with three years of
// visits, vital signs, laboratory panels and reports, diagnoses, problems,
// allergies, immunizations, prescriptions, procedures, notes, care team and
// plans), so the sandbox runs without any outside data. Augment adds the
// missing kinds to patients loaded from elsewhere, such as the shared
// Synthea and Inferno bundles, referring to their practitioners and
// encounters.
//
// Determinism: the same inputs give the same bytes. Every random choice
// comes from a PCG stream seeded by a hash of Options.Seed and the names of
// what is generated (person, org, section), ids are derived the same way,
// and every date is a whole number of days from Options.Now at clinic
// hours, so booked appointments are after Now and past visits before it
// whenever the records are generated. meta.lastUpdated follows each
// resource's own date and is never after Now.
//
// Across orgs: what is true of a person wherever they are seen comes from
// Person.Key alone (immunizations with their dates and lots, long-running
// conditions and their medications, allergies, body size, address,
// insurer), so two orgs report the same immunization (same CVX code and
// date) under different ids and identifiers, while visits, results,
// messages and bills differ per org. Names and facts are invented and
// belong to nobody.
//
// Sensitive results: each record has tests with the codes of
// Options.SensitiveCodes (DefaultSensitiveCodes when empty) that fit the
// patient's age, and every Observation or DiagnosticReport with such a code
// carries meta.security labels (a v3-ActCode policy such as HIV, STD or
// GDIS when known, and v3-Confidentiality R).
package synth
