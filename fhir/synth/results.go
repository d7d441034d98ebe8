package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// labReport is a DiagnosticReport that messages may talk about.
type labReport struct {
	id        string
	panel     string
	issued    time.Time
	sensitive bool
	abnormal  bool
}

// emitResults writes the visit's laboratory panels and sensitive tests.
func (c *chart) emitResults(v *visit, r *rand.Rand) {
	drawn := v.start.Add(15 * time.Minute)
	for _, p := range v.labs {
		issued := drawn.Add(time.Duration(between(r, 4, 20)) * time.Hour)
		if v.kind == visitRecent {
			issued = drawn.Add(time.Duration(between(r, 3, 6)) * time.Hour)
		}
		c.emitPanel(v, p, drawn, issued, r)
		v.charges = append(v.charges, p.cpt)
	}
	for _, t := range v.sensitive {
		issued := drawn.Add(time.Duration(between(r, 5, 8)) * time.Hour)
		c.emitSensitive(v, t, drawn, issued)
		v.charges = append(v.charges, t.cpt)
	}
}

var catLabObs = code{sysObsCategory, "laboratory", "Laboratory"}

// securityFor is meta.security for a result with these codes: the labels of
// any that are sensitive.
func (c *chart) securityFor(codes ...code) []r4.Coding {
	var out []r4.Coding
	seen := map[string]bool{}
	for _, cd := range codes {
		for _, l := range c.cfg.labels[cd.system+"|"+cd.code] {
			if !seen[l.system+"|"+l.code] {
				seen[l.system+"|"+l.code] = true
				out = append(out, l.coding())
			}
		}
	}
	return out
}

func (c *chart) emitPanel(v *visit, p panel, drawn, issued time.Time, r *rand.Rand) {
	years := c.yearsAt(drawn)
	report := &labReport{id: c.id("report", v.name, p.code.code), panel: p.code.text(), issued: issued}
	var results []r4.Reference
	codes := []code{p.code}
	for _, a := range p.analytes {
		value := c.labValue(a, years, r)
		id := c.id("obs", v.name, a.code.code)
		o := c.observation(id, v, drawn, catLabObs, "us-core-observation-lab", a.code.concept())
		o.Meta = c.e.meta(issued, "us-core-observation-lab")
		o.Issued = new(dateTime(issued))
		o.Performer = []r4.Reference{c.fac.orgRef()}
		o.ValueQuantity = quantity(value, a.decimals, a.unit)
		flag := interpretation(a, value)
		if flag.code != "N" {
			report.abnormal = true
		}
		o.Interpretation = flag.concepts()
		rr := r4.ObservationReferenceRange{Type: new(code{sysRefRangeMeans, "normal", "Normal Range"}.concept())}
		if a.low > 0 {
			rr.Low = quantity(a.low, a.decimals, a.unit)
		}
		if a.high > 0 {
			rr.High = quantity(a.high, a.decimals, a.unit)
		}
		o.ReferenceRange = []r4.ObservationReferenceRange{rr}
		o.Meta.Security = c.securityFor(a.code, p.code)
		c.e.emit("Observation", id, o)
		results = append(results, reference("Observation", id, a.code.text()))
		codes = append(codes, a.code)
	}
	report.sensitive = len(c.securityFor(codes...)) > 0
	c.emitReport(v, report, p.code, catLab, drawn, results, codes)
	c.reports = append(c.reports, report)
}

// labValue draws a result: the healthy distribution, shifted by the
// patient's conditions, sex and age.
func (c *chart) labValue(a analyte, years float64, r *rand.Rand) float64 {
	mean := a.mean
	for _, ch := range c.facts.chronic {
		mean += ch.def.labShift[a.code.code]
	}
	if c.gender == "female" {
		switch a.code.code {
		case "718-7":
			mean -= 1.3
		case "4544-3":
			mean -= 3.5
		case "38483-4":
			mean -= 0.15
		}
	}
	if years < 18 && a.code.code == "38483-4" {
		mean = 0.3 + 0.4*math.Min(years, 18)/18
	}
	v := normal(r, mean, a.sd)
	floor := math.Pow(10, -float64(a.decimals))
	return math.Max(floor, v)
}

func interpretation(a analyte, value float64) code {
	rounded, _ := strconv.ParseFloat(strconv.FormatFloat(value, 'f', a.decimals, 64), 64)
	switch {
	case a.high > 0 && rounded > a.high:
		return code{sysInterpretation, "H", "High"}
	case a.low > 0 && rounded < a.low:
		return code{sysInterpretation, "L", "Low"}
	}
	return code{sysInterpretation, "N", "Normal"}
}

func (c *chart) emitSensitive(v *visit, t sensitiveTest, drawn, issued time.Time) {
	id := c.id("obs", v.name, t.code.system, t.code.code)
	o := c.observation(id, v, drawn, catLabObs, "us-core-observation-lab", t.code.concept())
	o.Meta = c.e.meta(issued, "us-core-observation-lab")
	o.Meta.Security = c.securityFor(t.code)
	o.Issued = new(dateTime(issued))
	o.Performer = []r4.Reference{c.fac.orgRef()}
	o.ValueCodeableConcept = new(negative.concept())
	o.Interpretation = code{sysInterpretation, "N", "Normal"}.concepts()
	o.ReferenceRange = []r4.ObservationReferenceRange{{Text: new("Negative")}}
	c.e.emit("Observation", id, o)
	report := &labReport{id: c.id("report", v.name, t.code.system, t.code.code), panel: t.code.text(), issued: issued, sensitive: true}
	c.emitReport(v, report, t.code, t.category, drawn, []r4.Reference{reference("Observation", id, t.code.text())}, []code{t.code})
	c.reports = append(c.reports, report)
}

// emitReport writes a laboratory DiagnosticReport. US Core wants the LAB
// category on every one; a more specific category (genetics) comes second.
func (c *chart) emitReport(v *visit, report *labReport, what, category code, drawn time.Time, results []r4.Reference, codes []code) {
	categories := catLab.concepts()
	if category != catLab {
		categories = append(categories, category.concept())
	}
	dr := r4.DiagnosticReport{
		Id:                 new(report.id),
		Meta:               c.e.meta(report.issued, "us-core-diagnosticreport-lab"),
		Status:             r4.DiagnosticReportStatusFinal,
		Category:           categories,
		Code:               what.concept(),
		Subject:            new(c.patientRef()),
		Encounter:          new(v.ref()),
		EffectiveDateTime:  new(dateTime(drawn)),
		Issued:             new(dateTime(report.issued)),
		Performer:          []r4.Reference{c.fac.orgRef()},
		ResultsInterpreter: []r4.Reference{v.clin.ref()},
		Result:             results,
	}
	dr.Meta.Security = c.securityFor(codes...)
	c.e.emit("DiagnosticReport", report.id, dr)
}
