package fhirtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/portalgate/portalgate/fhir"
)

// Load stores resources as they are, each under its own id (one is assigned
// when it has none). A resource already stored is replaced by a newer
// version. Resources keep a meta.versionId and meta.lastUpdated they carry;
// the others get version 1 and the clock's time. Either every resource is
// stored or, on error, none.
func (s *Server) Load(resources ...json.RawMessage) error {
	recs, err := s.buildAll(resources)
	if err != nil {
		return err
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	// Restamp first and store after, so that a failure stores nothing.
	fresh := make(map[string]int, len(recs)) // versions within this batch
	for i, rec := range recs {
		prev, seen := fresh[rec.ref()]
		if !seen {
			if old := s.store.getLocked(rec.typ, rec.id); old != nil {
				prev, seen = old.version, true
			}
		}
		if seen && rec.version <= prev {
			restamped, err := rec.restamp(rec.id, prev+1)
			if err != nil {
				return fmt.Errorf("fhirtest: loading resource %d: %w", i, err)
			}
			recs[i] = restamped
		}
		fresh[rec.ref()] = recs[i].version
	}
	for _, rec := range recs {
		s.store.putLocked(rec)
	}
	return nil
}

// buildAll decodes and indexes resources on every core: decoding is most
// of the cost of loading.
func (s *Server) buildAll(resources []json.RawMessage) ([]*record, error) {
	st := stamp{version: 1, lastUpdated: s.now(), keepMeta: true, assignID: s.newID}
	recs := make([]*record, len(resources))
	errs := make([]error, len(resources))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(resources)/64+1) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(resources); i = int(next.Add(1) - 1) {
				recs[i], errs[i] = buildRecord(resources[i], "", st)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("fhirtest: loading resource %d: %w", i, err)
		}
	}
	return recs, nil
}

// LoadBundle stores the resources of a transaction, batch or collection
// bundle (see fhir.LoadBundle for ids and urn:uuid references).
func (s *Server) LoadBundle(data []byte) error {
	resources, err := fhir.LoadBundle(data)
	if err != nil {
		return fmt.Errorf("fhirtest: %w", err)
	}
	return s.Load(resources...)
}

// LoadNDJSON stores one resource per line.
func (s *Server) LoadNDJSON(r io.Reader) error {
	resources, err := fhir.LoadNDJSON(r)
	if err != nil {
		return fmt.Errorf("fhirtest: %w", err)
	}
	return s.Load(resources...)
}

// LoadFile stores the resources of a file: NDJSON when its name ends in
// .ndjson, otherwise a JSON Bundle or a single resource.
func (s *Server) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("fhirtest: %w", err)
	}
	name := filepath.Base(path)
	if strings.HasSuffix(strings.ToLower(path), ".ndjson") {
		if err := s.LoadNDJSON(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	h, err := fhir.ReadHeader(data)
	switch {
	case err != nil:
		err = fmt.Errorf("fhirtest: %w", err)
	case h.ResourceType == "Bundle":
		err = s.LoadBundle(data)
	default:
		err = s.Load(data)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
