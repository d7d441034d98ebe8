// Package configs ships PortalGate's configuration files inside the binary:
// the platform quirk files (platforms/*.yaml, each a fhir.Platform), the
// sandbox network (sandbox.yaml), production-like example networks
// (examples/*.yaml) and the JSON Schema of the configuration format
// (config.schema.json).
//
// The files are data only; package tenants loads and validates them.
package configs

import "embed"

// FS holds the shipped configuration files, named by their paths relative to
// this directory (for example "platforms/epic.yaml" or "sandbox.yaml").
//
//go:embed platforms/*.yaml examples/*.yaml sandbox.yaml config.schema.json
var FS embed.FS
