package synth

import (
	"encoding/binary"
	"slices"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Invoice ages, in days: younger than dueDays an issued invoice is not due
// yet; older than paidDays it has been paid (balanced).
const (
	dueDays  = 30
	paidDays = 150
)

// listPrice is the org's charge for a CPT code in cents: a base price by
// kind of service, moved up to 15% either way per org.
func (c *chart) listPrice(cd code) int64 {
	base := map[string]int64{
		"99213": 16000, "99214": 23000, "85025": 4500, "80048": 6000, "80061": 7500, "83036": 5500,
		"87389": 9500, "87491": 14000, "81479": 180000, "84999": 12000,
	}[cd.code]
	if base == 0 {
		base = 26000 // preventive visits
	}
	sum := digest(c.cfg.seed, "price", c.fac.org.ID, cd.code)
	swing := int64(binary.LittleEndian.Uint64(sum[:8])%31) - 15
	adjust := base * swing / 100
	return base + adjust - adjust%100 // whole dollars
}

// emitBilling writes the patient's coverage (unless one exists), their
// account with its guarantor, and an invoice for each billed visit: paid
// when old, past due between 30 and 150 days, open when recent.
func (c *chart) emitBilling(billed []*visit) {
	if c.coverage == nil {
		c.emitCoverage()
	}
	if c.account == nil {
		c.emitAccount()
	}
	r := c.rand("billing")
	for _, v := range billed {
		share := 60 + r.IntN(26) // percent the insurer pays
		if len(v.charges) == 0 {
			v.charges = []code{c.visitCharge(v)}
		}
		c.emitInvoice(v, share)
	}
}

func (c *chart) emitCoverage() {
	plan := c.facts.plan
	payerID := makeID("payer", c.cfg.seed, c.fac.org.ID, plan.payer.key)
	payerRef := reference("Organization", payerID, plan.payer.name)
	c.e.emit("Organization", payerID, r4.Organization{
		Id:      new(payerID),
		Meta:    c.e.meta(c.clk.at(-400, minuteOfDay(6, 0)), "us-core-organization"),
		Active:  new(true),
		Type:    code{sysOrgType, "pay", "Payer"}.concepts(),
		Name:    new(plan.payer.name),
		Telecom: []r4.ContactPoint{{System: new(r4.ContactPointSystemPhone), Value: new(plan.payer.phone), Use: new(r4.ContactPointUseWork)}},
	})

	subscriber, relationship := c.patientRef(), code{sysSubscriberRel, "self", "Self"}
	if c.age() < 18 {
		if i := slices.IndexFunc(c.kin, func(k *kin) bool { return isParentRole(k.rel) }); i >= 0 {
			subscriber, relationship = c.kin[i].ref(), code{sysSubscriberRel, "child", "Child"}
		}
	} else if i := slices.IndexFunc(c.kin, func(k *kin) bool { return k.rel == "SPS" || k.rel == "HUSB" || k.rel == "WIFE" }); i >= 0 && c.rand("coverage").Float64() < 0.4 {
		subscriber, relationship = c.kin[i].ref(), code{sysSubscriberRel, "spouse", "Spouse"}
	}
	id := c.id("cov")
	c.coverage = new(reference("Coverage", id, plan.payer.name))
	classType := func(c, d string) r4.CodeableConcept { return code{sysCoverageClass, c, d}.concept() }
	memberType := code{sysV2IDType, "MB", "Member Number"}
	c.e.emit("Coverage", id, r4.Coverage{
		Id:   new(id),
		Meta: c.e.meta(plan.since, "us-core-coverage"),
		Identifier: []r4.Identifier{{
			Type:   new(memberType.concept()),
			System: new("https://payer.example/" + plan.payer.key + "/member"),
			Value:  new(plan.memberID),
		}},
		Status:       r4.FinancialResourceStatusCodesActive,
		Type:         new(plan.payer.planType.concept()),
		Subscriber:   &subscriber,
		SubscriberId: new(plan.memberID),
		Beneficiary:  c.patientRef(),
		Relationship: new(relationship.concept()),
		Period:       &r4.Period{Start: new(date(plan.since))},
		Payor:        []r4.Reference{payerRef},
		Class: []r4.CoverageClass{
			{Type: classType("group", "Group"), Value: plan.groupID, Name: new(plan.payer.name + " group " + plan.groupID)},
			{Type: classType("plan", "Plan"), Value: plan.payer.planType.code, Name: new(plan.payer.name + " " + plan.payer.planType.code)},
		},
	})
}

func (c *chart) emitAccount() {
	id := c.id("acct")
	c.account = new(reference("Account", id, ""))
	since := c.firstSeen()
	if since.Before(c.birth) {
		since = c.birth
	}
	c.e.emit("Account", id, r4.Account{
		Id:            new(id),
		Meta:          c.e.meta(c.lastSeen()),
		Identifier:    []r4.Identifier{identifier(identifierSystem(c.fac.org.ID, "account"), "A"+c.number(8, "account"))},
		Status:        r4.AccountStatusActive,
		Type:          new(actc("PBILLACCT", "patient billing account").concept()),
		Name:          new(c.name()),
		Subject:       []r4.Reference{c.patientRef()},
		ServicePeriod: period(since, time.Time{}),
		Coverage:      []r4.AccountCoverage{{Coverage: *c.coverage, Priority: new(1)}},
		Owner:         new(c.fac.orgRef()),
		Guarantor:     []r4.AccountGuarantor{{Party: c.guarantor, OnHold: new(false), Period: period(since, time.Time{})}},
	})
}

// emitInvoice bills a visit. Each line is the list price (base) less what
// the insurer pays (deduction); totalGross is the sum of the bases and
// totalNet what the guarantor owes. A balanced invoice is paid; an issued
// one is owed, past due 30 days after its date.
func (c *chart) emitInvoice(v *visit, insurerPercent int) {
	invoiceDay := min(c.clk.dayOf(v.start)+2, -1)
	date := c.clk.at(invoiceDay, minuteOfDay(18, 0))
	var gross, deducted int64
	var lines []lineItemJSON
	for i, cd := range v.charges {
		price := c.listPrice(cd)
		paid := price * int64(insurerPercent) / 100
		gross += price
		deducted += paid
		lines = append(lines, lineItemJSON{
			Sequence:                  i + 1,
			ChargeItemCodeableConcept: cd.concept(),
			PriceComponent: []r4.InvoiceLineItemPriceComponent{
				{Type: r4.InvoicePriceComponentTypeBase, Amount: money(price)},
				{Type: r4.InvoicePriceComponentTypeDeduction, Code: new(textConcept("Insurance payment")), Amount: money(paid)},
			},
		})
	}
	status := r4.InvoiceStatusIssued
	var notes []r4.Annotation
	if -invoiceDay > paidDays {
		status = r4.InvoiceStatusBalanced
		paidOn := c.clk.at(invoiceDay+between(c.rand("paid:"+v.name), 10, 40), minuteOfDay(12, 0))
		notes = []r4.Annotation{{Text: "Paid in full.", Time: new(dateTime(paidOn))}}
	}
	id := c.id("inv", v.name)
	inv := r4.Invoice{
		Id:         new(id),
		Meta:       c.e.meta(date),
		Identifier: []r4.Identifier{identifier(identifierSystem(c.fac.org.ID, "invoice"), "INV-"+c.number(9, "invoice", v.name))},
		Status:     status,
		Type:       new(textConcept("Professional services")),
		Subject:    new(c.patientRef()),
		Recipient:  new(c.guarantor),
		Date:       new(dateTime(date)),
		Issuer:     new(c.fac.orgRef()),
		Account:    c.account,
		TotalPriceComponent: []r4.InvoiceLineItemPriceComponent{
			{Type: r4.InvoicePriceComponentTypeBase, Amount: money(gross)},
			{Type: r4.InvoicePriceComponentTypeDeduction, Code: new(textConcept("Insurance payment")), Amount: money(deducted)},
		},
		TotalGross:   money(gross),
		TotalNet:     money(gross - deducted),
		PaymentTerms: new("Payment is due within 30 days of the invoice date."),
		Note:         notes,
	}
	c.e.emit("Invoice", id, invoiceJSON{ResourceType: "Invoice", OtherInvoice: r4.OtherInvoice(inv), LineItem: lines})
}
