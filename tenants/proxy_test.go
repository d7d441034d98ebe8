package tenants

import (
	"slices"
	"testing"
	"time"
)

func TestAgeOn(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	tests := []struct {
		name  string
		birth string
		now   time.Time
		want  int
	}{
		{"birthday eve", "2014-11-23", at("2026-11-22T23:59:59Z"), 11},
		{"birthday", "2014-11-23", at("2026-11-23T00:00:00Z"), 12},
		{"day after", "2014-11-23", at("2026-11-24T00:00:00Z"), 12},
		{"18th birthday eve", "2008-11-23", at("2026-11-22T12:00:00Z"), 17},
		{"18th birthday", "2008-11-23", at("2026-11-23T12:00:00Z"), 18},
		{"feb 29, common year, feb 28", "2012-02-29", at("2026-02-28T12:00:00Z"), 13},
		{"feb 29, common year, mar 1", "2012-02-29", at("2026-03-01T00:00:00Z"), 14},
		{"feb 29, leap year, feb 28", "2012-02-29", at("2028-02-28T12:00:00Z"), 15},
		{"feb 29, leap year, feb 29", "2012-02-29", at("2028-02-29T00:00:00Z"), 16},
		{"born today", "2026-11-22", at("2026-11-22T12:00:00Z"), 0},
		{"not born yet", "2026-11-23", at("2026-11-22T12:00:00Z"), -1},
		{"101", "1925-01-01", at("2026-11-22T12:00:00Z"), 101},
		// 03:00 UTC on the 23rd is still the 22nd in Chicago.
		{"network zone, eve", "2014-11-23", at("2026-11-23T03:00:00Z").In(chicago), 11},
		{"network zone, day", "2014-11-23", at("2026-11-23T06:00:00Z").In(chicago), 12},
	}
	for _, tt := range tests {
		if got := AgeOn(date(t, tt.birth), tt.now); got != tt.want {
			t.Errorf("%s: AgeOn(%s, %s) = %d, want %d", tt.name, tt.birth, tt.now, got, tt.want)
		}
	}
}

func TestChildProxyAccess(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	scheduling, _ := Preset(PresetProxy13Scheduling)
	billing, _ := Preset(PresetProxyBillingImmunizations)
	seedLimited := []Category{CategoryAppointments, CategoryBilling, CategoryImmunizations, CategoryAllergies, CategoryMedications}

	tests := []struct {
		name    string
		policy  ChildProxyPolicy
		birth   string
		now     string
		consent bool
		level   ProxyLevel
		cats    []Category
	}{
		{"seed, 7", seed.ChildProxy, "2019-05-27", "2026-11-22T12:00:00Z", false, ProxyFull, nil},
		{"seed, eve of 12th birthday", seed.ChildProxy, "2014-11-23", "2026-11-22T23:59:59Z", false, ProxyFull, nil},
		{"seed, 12th birthday", seed.ChildProxy, "2014-11-23", "2026-11-23T00:00:00Z", false, ProxyLimited, seedLimited},
		{"seed, 12 with consent", seed.ChildProxy, "2014-11-23", "2026-11-23T00:00:00Z", true, ProxyFull, nil},
		{"seed, 17", seed.ChildProxy, "2009-03-01", "2026-11-22T12:00:00Z", false, ProxyLimited, seedLimited},
		{"seed, eve of 18th birthday", seed.ChildProxy, "2008-11-23", "2026-11-22T23:59:59Z", false, ProxyLimited, seedLimited},
		{"seed, 18th birthday", seed.ChildProxy, "2008-11-23", "2026-11-23T00:00:00Z", false, ProxyNone, nil},
		{"seed, 18 with consent", seed.ChildProxy, "2008-11-23", "2026-11-23T00:00:00Z", true, ProxyNone, nil},
		{"seed, feb 29 birth, eve of the 12th (a leap year)", seed.ChildProxy, "2012-02-29", "2024-02-28T12:00:00Z", false, ProxyFull, nil},
		{"seed, feb 29 birth, 12th birthday", seed.ChildProxy, "2012-02-29", "2024-02-29T00:00:00Z", false, ProxyLimited, seedLimited},
		{"seed, feb 28 birth, eve of the 12th", seed.ChildProxy, "2013-02-28", "2025-02-27T12:00:00Z", false, ProxyFull, nil},
		{"seed, feb 29 birth, later leap-year eve", seed.ChildProxy, "2016-02-29", "2028-02-28T12:00:00Z", false, ProxyFull, nil},
		{"seed, feb 29 birth, later 12th birthday", seed.ChildProxy, "2016-02-29", "2028-02-29T00:00:00Z", false, ProxyLimited, seedLimited},
		{"seed, feb 29 birth, feb 28 of the (common) 18th year", seed.ChildProxy, "2008-02-29", "2026-02-28T23:59:59Z", false, ProxyLimited, seedLimited},
		{"seed, feb 29 birth, 18th birthday mar 1", seed.ChildProxy, "2008-02-29", "2026-03-01T00:00:00Z", false, ProxyNone, nil},
		{"seed, not born", seed.ChildProxy, "2027-01-01", "2026-11-22T12:00:00Z", false, ProxyNone, nil},
		{"13-scheduling, 12", scheduling.ChildProxy, "2014-08-20", "2026-11-22T12:00:00Z", false, ProxyFull, nil},
		{"13-scheduling, 13th birthday", scheduling.ChildProxy, "2013-11-22", "2026-11-22T00:00:00Z", false, ProxyLimited, []Category{CategoryAppointments, CategoryImmunizations}},
		{"billing-immunizations, 12th birthday", billing.ChildProxy, "2014-11-22", "2026-11-22T00:00:00Z", false, ProxyLimited, []Category{CategoryBilling, CategoryImmunizations}},
		{"billing-immunizations, 11", billing.ChildProxy, "2014-11-23", "2026-11-22T12:00:00Z", false, ProxyFull, nil},
		{"consent does not restore when the policy says no", ChildProxyPolicy{Bands: seed.ChildProxy.Bands}, "2010-01-01", "2026-11-22T12:00:00Z", true, ProxyLimited, seedLimited},
	}
	for _, tt := range tests {
		got := tt.policy.Access(date(t, tt.birth), at(tt.now), tt.consent)
		if got.Level != tt.level || !slices.Equal(got.Categories, tt.cats) {
			t.Errorf("%s: Access = %+v, want %s %v", tt.name, got, tt.level, tt.cats)
		}
	}
}

func TestProxyAccessAllows(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	limited := seed.ChildProxy.Access(date(t, "2012-06-01"), testNow, false)
	for c, want := range map[Category]bool{
		CategoryAppointments: true, CategoryBilling: true, CategoryImmunizations: true,
		CategoryAllergies: true, CategoryMedications: true,
		CategoryResults: false, CategoryNotes: false, CategoryMessages: false,
	} {
		if got := limited.Allows(c); got != want {
			t.Errorf("limited proxy of a 14-year-old: Allows(%s) = %v, want %v", c, got, want)
		}
	}
	if !(ProxyAccess{Level: ProxyFull}).Allows(CategoryNotes) || (ProxyAccess{Level: ProxyNone}).Allows(CategoryBilling) {
		t.Error("full must allow everything and none nothing")
	}
	// The result is a copy: changing it must not change the policy.
	limited.Categories[0] = CategoryNotes
	if seed.ChildProxy.Bands[1].Categories[0] != CategoryAppointments {
		t.Error("Access returned the policy's own slice")
	}
}

func TestPolicyProxyAccess(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	renewal, _ := Preset(PresetAdultProxyRenewal5y)
	adult := date(t, "1980-06-15")
	teen := date(t, "2010-06-15")
	turns18 := date(t, "2008-11-23")

	tests := []struct {
		name   string
		policy Policy
		birth  Date
		grant  ProxyGrant
		now    string
		want   ProxyLevel
	}{
		{"parent of a teen", seed, teen, ProxyGrant{Basis: BasisParent}, "2026-11-22T12:00:00Z", ProxyLimited},
		{"parent, teen consented", seed, teen, ProxyGrant{Basis: BasisParent, AdolescentConsent: true}, "2026-11-22T12:00:00Z", ProxyFull},
		{"parent on the 18th birthday", seed, turns18, ProxyGrant{Basis: BasisParent}, "2026-11-23T00:00:00Z", ProxyNone},
		{"invited by an adult", seed, adult, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2020-01-01T00:00:00Z")}, "2026-11-22T12:00:00Z", ProxyFull},
		{"invitation before it was granted", seed, adult, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2027-01-01T00:00:00Z")}, "2026-11-22T12:00:00Z", ProxyNone},
		{"invitation made by a minor does not count", seed, turns18, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2026-11-22T23:59:59Z")}, "2026-11-24T00:00:00Z", ProxyNone},
		{"invitation made on the 18th birthday", seed, turns18, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2026-11-23T00:00:00Z")}, "2026-11-24T00:00:00Z", ProxyFull},
		{"renewal: the last moment", renewal, adult, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2021-11-22T12:00:00Z")}, "2026-11-22T11:59:59Z", ProxyFull},
		{"renewal: exactly 5 years", renewal, adult, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2021-11-22T12:00:00Z")}, "2026-11-22T12:00:00Z", ProxyNone},
		{"renewal: granted feb 29", renewal, adult, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2024-02-29T00:00:00Z")}, "2029-02-28T23:59:59Z", ProxyFull},
		{"renewal: granted feb 29, ends mar 1", renewal, adult, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("2024-02-29T00:00:00Z")}, "2029-03-01T00:00:00Z", ProxyNone},
		{"no renewal in seed", seed, adult, ProxyGrant{Basis: BasisInvitation, GrantedAt: at("1999-01-01T00:00:00Z")}, "2026-11-22T12:00:00Z", ProxyFull},
		{"court order of an adult", seed, adult, ProxyGrant{Basis: BasisCourtOrder, GrantedAt: at("2025-01-01T00:00:00Z"), Until: at("2027-01-01T00:00:00Z")}, "2026-11-22T12:00:00Z", ProxyFull},
		{"court order ends", seed, adult, ProxyGrant{Basis: BasisCourtOrder, GrantedAt: at("2025-01-01T00:00:00Z"), Until: at("2026-11-22T12:00:00Z")}, "2026-11-22T12:00:00Z", ProxyNone},
		{"unknown basis", seed, adult, ProxyGrant{Basis: "neighbour"}, "2026-11-22T12:00:00Z", ProxyNone},
	}
	for _, tt := range tests {
		if got := tt.policy.ProxyAccess(tt.birth, at(tt.now), tt.grant); got.Level != tt.want {
			t.Errorf("%s: level %s, want %s", tt.name, got.Level, tt.want)
		}
	}
}

func TestGuarantorAccess(t *testing.T) {
	seed, _ := Preset(PresetSeed)
	got := seed.Guarantor.Access()
	if got.Level != ProxyLimited || !slices.Equal(got.Categories, []Category{CategoryBilling}) {
		t.Errorf("guarantor access = %+v, want billing only", got)
	}
	if got.Allows(CategoryResults) {
		t.Error("a guarantor sees results")
	}
}

func TestPresets(t *testing.T) {
	names := PresetNames()
	want := []string{PresetAdultProxyRenewal5y, PresetProxy13Scheduling, PresetProxyBillingImmunizations, PresetSeed}
	if !slices.Equal(names, want) {
		t.Fatalf("PresetNames() = %v, want %v", names, want)
	}
	for _, name := range names {
		p, ok := Preset(name)
		if !ok || p.Preset != name {
			t.Fatalf("Preset(%q) = %v, %v", name, p.Preset, ok)
		}
		var problems []string
		p.validate("policy", func(path, format string, args ...any) { problems = append(problems, path) })
		if len(problems) > 0 {
			t.Errorf("preset %s does not validate: %v", name, problems)
		}
		if p.ChildProxy.AdultAge() != 18 {
			t.Errorf("preset %s: adult age %d, want 18", name, p.ChildProxy.AdultAge())
		}
	}
	a, _ := Preset(PresetSeed)
	a.Messages.AllowedMediaTypes[0] = "text/html"
	b, _ := Preset(PresetSeed)
	if b.Messages.AllowedMediaTypes[0] == "text/html" {
		t.Error("presets share their slices")
	}
	if _, ok := Preset("nope"); ok {
		t.Error("unknown preset found")
	}
}
