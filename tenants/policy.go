package tenants

import (
	"fmt"
	"mime"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/portalgate/portalgate/fhir"
)

// Policy is a network's rules for proxies, messages, results, appointments,
// billing, sign-up and sessions (DESIGN §7). A network's YAML names a preset
// and overrides single fields; a list given in YAML replaces the preset's
// list whole.
type Policy struct {
	// Preset is the name of the preset the policy started from.
	Preset       string            `yaml:"preset"`
	ChildProxy   ChildProxyPolicy  `yaml:"childProxy"`
	AdultProxy   AdultProxyPolicy  `yaml:"adultProxy"`
	Guarantor    GuarantorPolicy   `yaml:"guarantor"`
	Messages     MessagePolicy     `yaml:"messages"`
	Results      ResultPolicy      `yaml:"results"`
	Appointments AppointmentPolicy `yaml:"appointments"`
	Billing      BillingPolicy     `yaml:"billing"`
	SignUp       SignUpPolicy      `yaml:"signUp"`
	Session      SessionPolicy     `yaml:"session"`
}

// Preset names.
const (
	// PresetSeed is the default: the rules as the seeds state them.
	PresetSeed = "seed"
	// PresetProxy13Scheduling: a child's proxy has full access through age
	// 12, then only scheduling and immunizations until 18.
	PresetProxy13Scheduling = "proxy-13-scheduling"
	// PresetProxyBillingImmunizations: from 12 to 17 a child's proxy sees
	// billing and immunizations only.
	PresetProxyBillingImmunizations = "proxy-billing-immunizations"
	// PresetAdultProxyRenewal5y: adult proxies must be renewed every 5 years.
	PresetAdultProxyRenewal5y = "adult-proxy-renewal-5y"
)

var presets = map[string]func() Policy{
	PresetSeed: seedPolicy,
	PresetProxy13Scheduling: func() Policy {
		p := seedPolicy()
		p.ChildProxy.Bands = []AgeBand{
			{FromAge: 0, ToAge: 12, Level: ProxyFull},
			{FromAge: 13, ToAge: 17, Level: ProxyLimited, Categories: []Category{CategoryAppointments, CategoryImmunizations}},
		}
		return p
	},
	PresetProxyBillingImmunizations: func() Policy {
		p := seedPolicy()
		p.ChildProxy.Bands = []AgeBand{
			{FromAge: 0, ToAge: 11, Level: ProxyFull},
			{FromAge: 12, ToAge: 17, Level: ProxyLimited, Categories: []Category{CategoryBilling, CategoryImmunizations}},
		}
		return p
	},
	PresetAdultProxyRenewal5y: func() Policy {
		p := seedPolicy()
		p.AdultProxy.RenewEvery = Period{Years: 5}
		return p
	},
}

// Preset returns a fresh copy of the named preset.
func Preset(name string) (Policy, bool) {
	build, ok := presets[name]
	if !ok {
		return Policy{}, false
	}
	p := build()
	p.Preset = name
	return p, true
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for name := range presets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// seedPolicy holds the defaults the seeds state (DESIGN §7).
func seedPolicy() Policy {
	return Policy{
		ChildProxy: ChildProxyPolicy{
			Bands: []AgeBand{
				{FromAge: 0, ToAge: 11, Level: ProxyFull},
				{FromAge: 12, ToAge: 17, Level: ProxyLimited, Categories: []Category{
					CategoryAppointments, CategoryBilling, CategoryImmunizations, CategoryAllergies, CategoryMedications,
				}},
			},
			AdolescentConsentRestoresFull: true,
		},
		Guarantor: GuarantorPolicy{Categories: []Category{CategoryBilling}},
		Messages: MessagePolicy{
			ClinicianLookback:  Period{Years: 3},
			ClinicianLookahead: Period{Months: 1},
			MaxAttachments:     3,
			MaxAttachmentSize:  10 << 20,
			AllowedMediaTypes: []string{
				"application/pdf",
				"image/gif", "image/heic", "image/jpeg", "image/png",
				"video/mp4", "video/quicktime",
			},
			HideFromProxyAllowed:    true,
			ReplyWithinBusinessDays: 2,
			UrgentWarning: "Messages are not for emergencies. If you have an urgent medical problem, " +
				"call your clinic; for an emergency, call 911.",
		},
		Results: ResultPolicy{
			// Examples of results a clinician explains before release;
			// each network lists its own.
			HeldForClinician: []CodeToken{
				loinc("7917-8"),  // HIV 1 Ab [Presence] in Serum
				loinc("56888-1"), // HIV 1+2 Ab + HIV 1 p24 Ag [Presence] in Serum or Plasma
				loinc("75622-1"), // HIV 1 and 2 tests - Meaningful Use set
				loinc("51969-4"), // Genetic analysis report
				loinc("11526-1"), // Pathology study
			},
			AutoReleaseAfter: Duration(4 * 24 * time.Hour),
		},
		Appointments: AppointmentPolicy{
			WaitlistOfferExpiry:     Duration(time.Hour),
			SelfScheduleSpecialties: []string{"dermatology", "optometry", "pediatrics", "primary-care"},
			NewPatientAfter:         Period{Years: 3},
		},
		Billing: BillingPolicy{
			PlanMaxMonths:    36,
			MaxActivePlans:   1,
			PaperlessDefault: true,
		},
		SignUp: SignUpPolicy{
			MinAge:               18,
			ActivationCodeExpiry: Duration(45 * 24 * time.Hour),
			InvitationExpiry:     Duration(24 * time.Hour),
			MaxFailedAttempts:    5,
			Lockout:              Duration(30 * time.Minute),
		},
		Session: SessionPolicy{
			IdleTimeout: Duration(20 * time.Minute),
			MaxLifetime: Duration(12 * time.Hour),
		},
	}
}

// decodeNode starts from the preset the mapping names, then lets the
// mapping's other keys override it.
func (p *Policy) decodeNode(d *decoder, n *yaml.Node, path string) {
	name := PresetSeed
	var nameNode *yaml.Node
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "preset" {
				nameNode = n.Content[i+1]
			}
		}
	}
	if nameNode != nil {
		if s, ok := d.scalar(nameNode, joinPath(path, "preset"), "a preset name"); ok && s != "" {
			name = s
		}
	}
	base, ok := Preset(name)
	if !ok {
		d.problems.decodeFailed(nameNode, joinPath(path, "preset"),
			fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(PresetNames(), ", ")))
		base, _ = Preset(PresetSeed)
	}
	*p = base
	d.decodeStruct(n, reflect.ValueOf(p).Elem(), path)
	p.Preset = name
}

// reporter records a validation problem at a field path.
type reporter func(path, format string, args ...any)

func (p *Policy) validate(path string, report reporter) {
	p.ChildProxy.validate(joinPath(path, "childProxy"), report)
	validCategories(p.Guarantor.Categories, joinPath(path, "guarantor.categories"), true, report)
	p.Messages.validate(joinPath(path, "messages"), report)
	p.Appointments.validate(joinPath(path, "appointments"), report)
	p.Billing.validate(joinPath(path, "billing"), report)
	p.SignUp.validate(joinPath(path, "signUp"), report)
	p.Session.validate(joinPath(path, "session"), report)
}

func (p *ChildProxyPolicy) validate(path string, report reporter) {
	bandsPath := joinPath(path, "bands")
	if len(p.Bands) == 0 {
		report(bandsPath, "at least one age band is required")
		return
	}
	next := 0
	for i, band := range p.Bands {
		bp := indexPath(bandsPath, i)
		switch {
		case band.FromAge != next && i == 0:
			report(joinPath(bp, "fromAge"), "the first band must start at age 0")
		case band.FromAge != next:
			report(joinPath(bp, "fromAge"), "bands must follow each other without gaps or overlaps: expected %d, found %d", next, band.FromAge)
		}
		if band.ToAge < band.FromAge || band.ToAge > 25 {
			report(joinPath(bp, "toAge"), "toAge must be between fromAge (%d) and 25, found %d", band.FromAge, band.ToAge)
		}
		next = band.ToAge + 1
		switch band.Level {
		case ProxyLimited:
			validCategories(band.Categories, joinPath(bp, "categories"), true, report)
		case ProxyFull, ProxyNone:
			if len(band.Categories) > 0 {
				report(joinPath(bp, "categories"), "only a limited band lists categories")
			}
		default:
			report(joinPath(bp, "level"), "unknown level %q (known: full, limited, none)", band.Level)
		}
	}
}

func validCategories(cats []Category, path string, required bool, report reporter) {
	if required && len(cats) == 0 {
		report(path, "at least one category is required (known: %s)", categoryNames())
	}
	seen := map[Category]bool{}
	for i, c := range cats {
		switch {
		case !slices.Contains(categories, c):
			report(indexPath(path, i), "unknown category %q (known: %s)", c, categoryNames())
		case seen[c]:
			report(indexPath(path, i), "category %q is listed twice", c)
		}
		seen[c] = true
	}
}

func (p *MessagePolicy) validate(path string, report reporter) {
	if p.MaxAttachments < 0 || p.MaxAttachments > 20 {
		report(joinPath(path, "maxAttachments"), "must be between 0 and 20, found %d", p.MaxAttachments)
	}
	if p.MaxAttachments > 0 && p.MaxAttachmentSize <= 0 {
		report(joinPath(path, "maxAttachmentSize"), "must be positive when attachments are allowed")
	}
	if p.MaxAttachments > 0 && len(p.AllowedMediaTypes) == 0 {
		report(joinPath(path, "allowedMediaTypes"), "at least one media type is required when attachments are allowed")
	}
	for i, mt := range p.AllowedMediaTypes {
		parsed, params, err := mime.ParseMediaType(mt)
		if err != nil || len(params) > 0 || parsed != mt || strings.Contains(mt, "*") {
			report(indexPath(joinPath(path, "allowedMediaTypes"), i),
				"%q is not a plain lowercase media type such as application/pdf (no wildcards or parameters)", mt)
		}
	}
	if p.ReplyWithinBusinessDays < 1 || p.ReplyWithinBusinessDays > 30 {
		report(joinPath(path, "replyWithinBusinessDays"), "must be between 1 and 30, found %d", p.ReplyWithinBusinessDays)
	}
	if strings.TrimSpace(p.UrgentWarning) == "" {
		report(joinPath(path, "urgentWarning"), "an urgent-care warning is required")
	}
}

func (p *AppointmentPolicy) validate(path string, report reporter) {
	if p.WaitlistOfferExpiry <= 0 {
		report(joinPath(path, "waitlistOfferExpiry"), "must be positive")
	}
	if p.NewPatientAfter.IsZero() {
		report(joinPath(path, "newPatientAfter"), "must be a positive period such as 3y")
	}
	seen := map[string]bool{}
	for i, s := range p.SelfScheduleSpecialties {
		sp := indexPath(joinPath(path, "selfScheduleSpecialties"), i)
		switch {
		case !validID(s):
			report(sp, "invalid specialty %q: use lowercase letters, digits and hyphens", s)
		case seen[s]:
			report(sp, "specialty %q is listed twice", s)
		}
		seen[s] = true
	}
}

func (p *BillingPolicy) validate(path string, report reporter) {
	if p.PlanMaxMonths < 1 || p.PlanMaxMonths > 120 {
		report(joinPath(path, "planMaxMonths"), "must be between 1 and 120, found %d", p.PlanMaxMonths)
	}
	if p.MaxActivePlans < 1 {
		report(joinPath(path, "maxActivePlans"), "must be at least 1, found %d", p.MaxActivePlans)
	}
}

func (p *SignUpPolicy) validate(path string, report reporter) {
	if p.MinAge < 0 || p.MinAge > 25 {
		report(joinPath(path, "minAge"), "must be between 0 and 25, found %d", p.MinAge)
	}
	for _, f := range []struct {
		name string
		d    Duration
	}{{"activationCodeExpiry", p.ActivationCodeExpiry}, {"invitationExpiry", p.InvitationExpiry}, {"lockout", p.Lockout}} {
		if f.d <= 0 {
			report(joinPath(path, f.name), "must be positive")
		}
	}
	if p.MaxFailedAttempts < 1 {
		report(joinPath(path, "maxFailedAttempts"), "must be at least 1, found %d", p.MaxFailedAttempts)
	}
}

func (p *SessionPolicy) validate(path string, report reporter) {
	if p.IdleTimeout <= 0 {
		report(joinPath(path, "idleTimeout"), "must be positive")
	}
	if p.MaxLifetime < p.IdleTimeout {
		report(joinPath(path, "maxLifetime"), "must be at least idleTimeout (%s), found %s", p.IdleTimeout, p.MaxLifetime)
	}
}

// loinc is a LOINC code as a policy token.
func loinc(code string) CodeToken {
	return CodeToken{fhir.Token{System: "http://loinc.org", Code: code, SystemSet: true}}
}
