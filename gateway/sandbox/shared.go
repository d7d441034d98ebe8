package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/portalgate/portalgate/fhir"
	"github.com/portalgate/portalgate/fhir/fhirtest/smartauth"
	"github.com/portalgate/portalgate/fhir/synth"
	"github.com/portalgate/portalgate/tenants"
)

// sharedPassword signs in every shared patient at their EHR.
const sharedPassword = "sandbox-shared"

// SharedPatient is a patient loaded from a shared data directory.
type SharedPatient struct {
	File     string `json:"file"`
	Org      string `json:"org"`
	Patient  string `json:"patient"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// loadShared loads the Synthea patients of dir/synthea round-robin into the
// network's affiliated EHRs, each augmented with what Synthea lacks, and the
// Inferno US Core patients of dir/inferno into the generic SMART EHR.
func (s *Sandbox) loadShared(dir string, now time.Time, seed uint64) ([]SharedPatient, error) {
	var affiliated, smartEHRs []*EHR
	for _, e := range s.ehrs {
		if e.Org.Membership == tenants.MembershipAffiliated {
			affiliated = append(affiliated, e)
			if e.Endpoint.Platform == "smart" {
				smartEHRs = append(smartEHRs, e)
			}
		}
	}
	if len(affiliated) == 0 {
		return nil, fmt.Errorf("sandbox: no affiliated org to load %s into", dir)
	}
	synthea, err := filepath.Glob(filepath.Join(dir, "synthea", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if len(synthea) == 0 {
		return nil, fmt.Errorf("sandbox: no Synthea bundles in %s", filepath.Join(dir, "synthea"))
	}
	slices.Sort(synthea)
	var loaded []SharedPatient
	for i, file := range synthea {
		p, err := s.loadSharedFile(affiliated[i%len(affiliated)], file, true, now, seed)
		if err != nil {
			return nil, err
		}
		loaded = append(loaded, p...)
	}
	inferno, _ := filepath.Glob(filepath.Join(dir, "inferno", "uscore_bundle_patient_*.json"))
	if len(smartEHRs) > 0 {
		for _, file := range inferno {
			p, err := s.loadSharedFile(smartEHRs[0], file, false, now, seed)
			if err != nil {
				return nil, err
			}
			loaded = append(loaded, p...)
		}
	}
	return loaded, nil
}

func (s *Sandbox) loadSharedFile(e *EHR, file string, augment bool, now time.Time, seed uint64) ([]SharedPatient, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	resources, err := fhir.LoadBundle(data)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", file, err)
	}
	if augment {
		org := synth.Org{ID: e.Org.ID, Name: e.Org.Name, Platform: e.Endpoint.Platform}
		added, err := synth.Augment(resources, org, synth.Options{Now: now, Seed: seed, SensitiveCodes: s.sensitiveCodes()})
		if err != nil {
			return nil, fmt.Errorf("sandbox: augmenting %s: %w", file, err)
		}
		resources = append(resources, added...)
	}
	if err := e.FHIR.Load(resources...); err != nil {
		return nil, fmt.Errorf("sandbox: loading %s into %s: %w", file, e.Org.ID, err)
	}
	var out []SharedPatient
	for _, raw := range resources {
		h, err := fhir.ReadHeader(raw)
		if err != nil || h.ResourceType != "Patient" {
			continue
		}
		username := sharedUsername(file, h.ID)
		if err := e.Auth.AddUser(smartauth.User{Username: username, Password: sharedPassword, Patient: h.ID}); err != nil {
			return nil, fmt.Errorf("sandbox: sign-in for %s: %w", file, err)
		}
		out = append(out, SharedPatient{File: filepath.Base(file), Org: e.Org.ID, Patient: h.ID, Username: username, Password: sharedPassword})
	}
	return out, nil
}

// sharedUsername names a shared patient's sign-in after their file
// (Willia_Runolfsdottir.json → willia.runolfsdottir) or, for bundles holding
// several patients, after the patient id.
func sharedUsername(file, patientID string) string {
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	if strings.HasPrefix(name, "uscore_bundle_") {
		return "uscore-" + patientID
	}
	return strings.ToLower(strings.ReplaceAll(name, "_", "."))
}
