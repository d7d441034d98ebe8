package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// immunizationHorizonYears is how far back a state registry's history goes:
// older doses are not reported.
const immunizationHorizonYears = 25

// personFacts is what is true of a person wherever they are seen. It is
// derived from the person's key (and birth date and sex), never from the
// org, so that every org reporting on the person agrees: the same
// immunizations on the same dates, the same long-running conditions,
// allergies and medications, the same body size, address and insurer.
type personFacts struct {
	address     r4.Address
	phone       string
	adultHeight float64 // cm
	adultBMI    float64
	smoking     code
	chronic     []chronicFact
	allergies   []allergyFact
	shots       []shot
	plan        healthPlan
}

type chronicFact struct {
	def   *chronicDef
	onset time.Time
}

type allergyFact struct {
	def      *allergyDef
	onset    time.Time
	reaction code
	severe   bool
}

type shot struct {
	vaccine code
	at      time.Time
	lot     string
}

type healthPlan struct {
	payer    payer
	memberID string
	groupID  string
	since    time.Time
}

// derivePerson works out a person's facts. Each section draws from its own
// stream so that facts stay put when another section changes.
func derivePerson(key, gender string, birth time.Time, cfg *config) *personFacts {
	clk := cfg.clock
	age := ageAt(birth, clk.now)
	f := &personFacts{}
	section := func(name string) *rand.Rand { return stream(cfg.seed, "person", key, name) }

	f.address, f.phone = inventAddress(section("address"))

	body := section("body")
	switch gender {
	case "male":
		f.adultHeight = normal(body, 176, 7)
	case "female":
		f.adultHeight = normal(body, 163, 6.5)
	default:
		f.adultHeight = normal(body, 170, 7)
	}
	f.adultBMI = math.Min(40, math.Max(18.5, normal(body, 26, 4)))

	smoke := section("smoking").Float64()
	switch {
	case age < 18 || smoke < 0.6:
		f.smoking = neverSmoker
	case smoke < 0.85:
		f.smoking = formerSmoker
	default:
		f.smoking = currentSmoker
	}

	f.chronic = deriveChronic(section("chronic"), birth, age, clk)
	f.allergies = deriveAllergies(section("allergies"), birth, age, clk)
	f.shots = deriveShots(section("immunizations"), birth, clk)
	f.plan = derivePlan(section("coverage"), birth, age, clk)
	return f
}

func deriveChronic(r *rand.Rand, birth time.Time, age int, clk clock) []chronicFact {
	var out []chronicFact
	latest := clk.at(-60, minuteOfDay(10, 0))
	for _, def := range chronicDefs {
		chance, when := r.Float64(), r.Float64()
		if age < def.minAge || chance >= def.chance {
			continue
		}
		earliest := birth.AddDate(def.minAge, 0, 0)
		onset := latest
		if span := latest.Sub(earliest); span > 0 {
			onset = clk.at(clk.dayOf(earliest.Add(time.Duration(when*float64(span)))), minuteOfDay(10, 0))
		}
		out = append(out, chronicFact{def: def, onset: onset})
	}
	// Diabetes replaces prediabetes.
	if slices.ContainsFunc(out, func(c chronicFact) bool { return c.def == chronicDiabetes }) {
		out = slices.DeleteFunc(out, func(c chronicFact) bool { return c.def == chronicPrediabetes })
	}
	return out
}

func deriveAllergies(r *rand.Rand, birth time.Time, age int, clk clock) []allergyFact {
	var out []allergyFact
	for _, def := range allergyDefs {
		chance, when, reaction, severe := r.Float64(), r.Float64(), r.IntN(len(def.reactions)), r.Float64()
		if age < 1 || chance >= def.chance {
			continue
		}
		onsetAge := 0.5 + when*(math.Min(float64(age), float64(def.maxOnsetAge))-0.5)
		onset := birth.AddDate(0, 0, int(onsetAge*365.25))
		if limit := clk.at(-30, 0); onset.After(limit) {
			onset = limit
		}
		out = append(out, allergyFact{
			def:      def,
			onset:    clk.at(clk.dayOf(onset), minuteOfDay(11, 0)),
			reaction: def.reactions[reaction],
			severe:   def.reactions[reaction] == reactAnaphylaxis || severe < 0.2,
		})
	}
	return out
}

// deriveShots lays out the routine schedule and yearly flu shots, keeping
// the doses given before today and within the registry's horizon.
func deriveShots(r *rand.Rand, birth time.Time, clk clock) []shot {
	horizon := clk.at(-365*immunizationHorizonYears, 0)
	var out []shot
	add := func(v code, day time.Time, minute int, lot string) {
		at := clk.at(clk.dayOf(day), minute)
		if at.Before(clk.today) && !at.Before(horizon) && !at.Before(birth) {
			out = append(out, shot{vaccine: v, at: at, lot: lot})
		}
	}
	for _, dose := range routineSchedule {
		jitter, minute, lot := r.IntN(15), minuteOfDay(9, 0)+15*r.IntN(28), lotNumber(r)
		add(dose.vaccine, birth.AddDate(0, dose.months, jitter), minute, lot)
	}
	for k := range 8 {
		year := clk.today.Year() - k
		day, minute, lot, adheres := r.IntN(50), minuteOfDay(9, 0)+15*r.IntN(28), lotNumber(r), r.Float64() < 0.75
		at := time.Date(year, time.October, 1+day, 0, 0, 0, 0, clk.today.Location())
		if adheres && !at.Before(birth.AddDate(0, 6, 0)) {
			add(vaxFlu, at, minute, lot)
		}
	}
	slices.SortStableFunc(out, func(a, b shot) int { return a.at.Compare(b.at) })
	return out
}

func lotNumber(r *rand.Rand) string {
	const letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
	return fmt.Sprintf("%c%c%04d", letters[r.IntN(len(letters))], letters[r.IntN(len(letters))], r.IntN(10000))
}

func derivePlan(r *rand.Rand, birth time.Time, age int, clk clock) healthPlan {
	p := healthPlan{payer: pick(r, payers)}
	if age >= 65 {
		p.payer = medicareAdvantage
	}
	p.memberID = fmt.Sprintf("%s%09d", p.payer.key[:3], r.IntN(1_000_000_000))
	p.groupID = fmt.Sprintf("G%05d", r.IntN(100_000))
	p.since = time.Date(clk.today.Year()-between(r, 1, 6), time.January, 1, 0, 0, 0, 0, clk.today.Location())
	if p.since.Before(birth) {
		p.since = birth
	}
	return p
}

// heightAt is the height in cm at an age in years: a fraction of adult
// height following a simplified growth curve.
func (f *personFacts) heightAt(age float64) float64 {
	curve := []struct{ age, frac float64 }{
		{0, 0.29}, {1, 0.43}, {2, 0.50}, {5, 0.63}, {10, 0.80}, {14, 0.93}, {18, 1.0},
	}
	if age >= 18 {
		return f.adultHeight
	}
	for i := 1; i < len(curve); i++ {
		if age <= curve[i].age {
			a, b := curve[i-1], curve[i]
			return f.adultHeight * (a.frac + (b.frac-a.frac)*(age-a.age)/(b.age-a.age))
		}
	}
	return f.adultHeight
}

// bmiAt is the body mass index at an age in years.
func (f *personFacts) bmiAt(age float64) float64 {
	switch {
	case age < 2:
		return 17
	case age < 6:
		return 15.8
	case age < 10:
		return 16.5
	case age < 18:
		return 16.5 + (f.adultBMI-16.5)*(age-10)/8
	}
	return f.adultBMI
}

func (f *personFacts) has(def *chronicDef) bool {
	return slices.ContainsFunc(f.chronic, func(c chronicFact) bool { return c.def == def })
}

func (f *personFacts) allergicToPenicillin() bool {
	return slices.ContainsFunc(f.allergies, func(a allergyFact) bool { return a.def.penicillin })
}
