package synth

import (
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// emitCare writes the care team and, for conditions that have one, a care
// plan with its goal.
func (c *chart) emitCare() {
	teamID := c.id("careteam")
	members := []r4.CareTeamParticipant{
		{Role: sct("116154003", "Patient").concepts(), Member: new(c.patientRef())},
		{Role: sct("446050000", "Primary care physician").concepts(), Member: new(c.pcp.ref())},
	}
	seen := map[*clinician]bool{c.pcp: true}
	for _, v := range c.visits {
		if v.clin != nil && !seen[v.clin] {
			seen[v.clin] = true
			members = append(members, r4.CareTeamParticipant{Role: sct("223366009", "Healthcare professional (occupation)").concepts(), Member: new(v.clin.ref())})
		}
	}
	since := c.firstSeen()
	c.e.emit("CareTeam", teamID, r4.CareTeam{
		Id:                   new(teamID),
		Meta:                 c.e.meta(c.lastSeen(), "us-core-careteam"),
		Status:               new(r4.CareTeamStatusActive),
		Name:                 new("Care team of " + c.name()),
		Subject:              new(c.patientRef()),
		Period:               period(since, time.Time{}),
		Participant:          members,
		ManagingOrganization: []r4.Reference{c.fac.orgRef()},
	})

	for _, ch := range c.facts.chronic {
		plan := ch.def.carePlan
		if plan == nil {
			continue
		}
		start := ch.onset
		if since.After(start) && len(c.visits) > 0 {
			start = since
		}
		goalID := c.id("goal", ch.def.code.code)
		condition := reference("Condition", c.conditions[ch.def], ch.def.code.text())
		c.e.emit("Goal", goalID, r4.Goal{
			Id:              new(goalID),
			Meta:            c.e.meta(start, "us-core-goal"),
			LifecycleStatus: r4.GoalLifecycleStatusActive,
			Description:     textConcept(plan.goal),
			Subject:         c.patientRef(),
			StartDate:       new(date(start)),
			Target:          []r4.GoalTarget{{DueDate: new(date(c.clk.at(180, 0)))}},
			ExpressedBy:     new(c.pcp.ref()),
			Addresses:       []r4.Reference{condition},
		})
		var activities []r4.CarePlanActivity
		var items strings.Builder
		for _, a := range plan.activities {
			activities = append(activities, r4.CarePlanActivity{Detail: &r4.CarePlanActivityDetail{
				Code:   new(a.concept()),
				Status: r4.CarePlanActivityStatusInProgress,
			}})
			items.WriteString("<li>" + xmlEscape(a.display) + "</li>")
		}
		planID := c.id("careplan", ch.def.code.code)
		c.e.emit("CarePlan", planID, r4.CarePlan{
			Id:   new(planID),
			Meta: c.e.meta(start, "us-core-careplan"),
			Text: &r4.Narrative{
				Status: r4.NarrativeStatusGenerated,
				Div:    `<div xmlns="http://www.w3.org/1999/xhtml">Care plan for ` + xmlEscape(ch.def.code.text()) + `. Goal: ` + xmlEscape(plan.goal) + `.<ul>` + items.String() + `</ul></div>`,
			},
			Status:    r4.RequestStatusActive,
			Intent:    r4.CarePlanIntentPlan,
			Category:  []r4.CodeableConcept{code{sysCarePlanCat, "assess-plan", "Assessment and Plan of Treatment"}.concept(), plan.category.concept()},
			Subject:   c.patientRef(),
			Period:    period(start, time.Time{}),
			CareTeam:  []r4.Reference{reference("CareTeam", teamID, "")},
			Addresses: []r4.Reference{condition},
			Goal:      []r4.Reference{reference("Goal", goalID, "")},
			Activity:  activities,
		})
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
