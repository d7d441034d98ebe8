// Package adapters is the home of the upstream adapters: one sub-package per
// EHR platform (epic, cerner, athena, smart) and per device source (fitbit,
// googlehealth, healthkit), each behind the one small interface the record
// service defines for a clinical source. Platform quirks stay data
// (configs/platforms/*.yaml, read as fhir.Platform); an adapter holds only
// what data cannot say. Adapters depend on package fhir and nothing above it.
package adapters
