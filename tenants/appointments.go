package tenants

import (
	"slices"
	"time"
)

// AppointmentPolicy rules self-scheduling and the waitlist. Cancelling is
// always free, takes an optional reason and is effective at once.
type AppointmentPolicy struct {
	// WaitlistOfferExpiry is how long a "fast pass" offer of an earlier
	// slot stays open.
	WaitlistOfferExpiry Duration `yaml:"waitlistOfferExpiry"`
	// SelfScheduleSpecialties are the specialties a patient may book online.
	SelfScheduleSpecialties []string `yaml:"selfScheduleSpecialties"`
	// NewPatientAfter: a patient not seen in a specialty for this long is a
	// new patient there and must call.
	NewPatientAfter Period `yaml:"newPatientAfter"`
}

// WaitlistOfferOpen reports whether an offer made at offered can still be
// taken at now; it closes exactly WaitlistOfferExpiry later.
func (p AppointmentPolicy) WaitlistOfferOpen(offered, now time.Time) bool {
	return !now.Before(offered) && now.Before(offered.Add(p.WaitlistOfferExpiry.Std()))
}

// Scheduling says how a patient may book in a specialty.
type Scheduling string

const (
	// SelfSchedule: the patient books online.
	SelfSchedule Scheduling = "self-schedule"
	// CallSpecialty: the specialty does not take online bookings.
	CallSpecialty Scheduling = "call-specialty"
	// CallNewPatient: the patient is new to the specialty and must call.
	CallNewPatient Scheduling = "call-new-patient"
)

// Scheduling returns how a patient last seen in specialty at lastVisit
// (zero: never) may book at now. A visit exactly NewPatientAfter ago still
// counts as established.
func (p AppointmentPolicy) Scheduling(specialty string, lastVisit, now time.Time) Scheduling {
	if !slices.Contains(p.SelfScheduleSpecialties, specialty) {
		return CallSpecialty
	}
	if lastVisit.IsZero() || lastVisit.Before(p.NewPatientAfter.Before(now)) {
		return CallNewPatient
	}
	return SelfSchedule
}
