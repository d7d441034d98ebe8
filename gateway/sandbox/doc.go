// Package sandbox owns the simulated world that `portalgate sandbox` runs in
// one process: the network of configs/sandbox.yaml, one simulated EHR
// (a fhirtest server guarded by smartauth, with the platform's quirks) per
// org, the sandbox people's generated records in them, the fault knobs, and
// GET /sandbox, the JSON index that scripts and newcomers rely on.
//
// The sandbox is a contract (DESIGN.md §9): paths and the shape of the index
// change only compatibly.
package sandbox
