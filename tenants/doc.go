// Package tenants owns the configuration model of the gateway: networks
// (tenants) with their identity provider, account model and orgs; each
// org's FHIR endpoints with platform and upstream authorization; each
// network's policy (proxy age bands, result release, messaging, scheduling,
// billing, sign-up and session limits, DESIGN §7) as typed values with named
// presets; and the people of the sandbox.
//
// Load, LoadFile and LoadFS read a YAML file, expand ${NAME} references from
// the caller's variables or the environment, and validate it, reporting every
// problem at once with its file, line, column and field path. Unknown keys
// are errors, except top-level "x-" keys, which hold YAML anchors for reuse.
// The format is also described by configs/config.schema.json.
//
// Policy rules are pure functions that take the clock as an argument; ages
// and dates are counted in the network's time zone (Network.Location).
package tenants
