package tenants

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPolicyPresetAndOverrides(t *testing.T) {
	src := baseConfig + `    policy:
      preset: proxy-billing-immunizations
      adultProxy: {renewEvery: 5y}
      messages:
        maxAttachments: 5
        allowedMediaTypes: [application/pdf]
      results:
        heldForClinician: ["http://loinc.org|7917-8", "genetic-panel"]
        autoReleaseAfter: P2D
      session: {idleTimeout: 15m}
`
	cfg, err := Load("test.yaml", []byte(src), testOptions(t, nil)...)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Networks[0].Policy
	want, _ := Preset(PresetProxyBillingImmunizations)
	if p.Preset != PresetProxyBillingImmunizations {
		t.Errorf("preset = %q", p.Preset)
	}
	// Overridden fields.
	if p.AdultProxy.RenewEvery != (Period{Years: 5}) || p.Messages.MaxAttachments != 5 ||
		!slices.Equal(p.Messages.AllowedMediaTypes, []string{"application/pdf"}) ||
		p.Results.AutoReleaseAfter.Std() != 48*time.Hour || p.Session.IdleTimeout.Std() != 15*time.Minute {
		t.Errorf("overrides not applied: %+v", p)
	}
	if len(p.Results.HeldForClinician) != 2 || p.Results.HeldForClinician[1].SystemSet {
		t.Errorf("held codes = %v, want the file's list in place of the preset's", p.Results.HeldForClinician)
	}
	// Untouched fields keep the preset's values.
	if !slices.EqualFunc(p.ChildProxy.Bands, want.ChildProxy.Bands, func(a, b AgeBand) bool {
		return a.FromAge == b.FromAge && a.ToAge == b.ToAge && a.Level == b.Level && slices.Equal(a.Categories, b.Categories)
	}) || p.Messages.MaxAttachmentSize != want.Messages.MaxAttachmentSize ||
		p.Session.MaxLifetime != want.Session.MaxLifetime || p.SignUp != want.SignUp ||
		p.Messages.UrgentWarning != want.Messages.UrgentWarning {
		t.Errorf("fields the file does not set changed: %+v", p)
	}
}

func TestPolicyValidation(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   []string
	}{
		{
			name:   "bands must start at 0 and levels be known",
			policy: "childProxy:\n  bands:\n    - {fromAge: 1, toAge: 11, level: full, categories: [billing]}\n    - {fromAge: 12, toAge: 17, level: partial}\n",
			want: []string{
				"networks[0].policy.childProxy.bands[0].fromAge: the first band must start at age 0",
				"networks[0].policy.childProxy.bands[0].categories: only a limited band lists categories",
				`networks[0].policy.childProxy.bands[1].level: unknown level "partial" (known: full, limited, none)`,
			},
		},
		{
			name:   "limited band without categories, upside-down band",
			policy: "childProxy:\n  bands:\n    - {fromAge: 0, toAge: 11, level: full}\n    - {fromAge: 12, toAge: 10, level: limited}\n",
			want: []string{
				"networks[0].policy.childProxy.bands[1].categories: at least one category is required (known: allergies, appointments, billing, care-team, conditions, documents, immunizations, insurance, medications, messages, notes, procedures, results, visits, vitals)",
				"networks[0].policy.childProxy.bands[1].toAge: toAge must be between fromAge (12) and 25, found 10",
			},
		},
		{
			name:   "no bands",
			policy: "childProxy: {bands: []}\n",
			want:   []string{"networks[0].policy.childProxy.bands: at least one age band is required"},
		},
		{
			name:   "messages",
			policy: "messages:\n  maxAttachments: 30\n  allowedMediaTypes: [image/*, 'text/plain; charset=utf-8', Image/PNG]\n  replyWithinBusinessDays: 0\n  urgentWarning: ' '\n",
			want: []string{
				"networks[0].policy.messages.maxAttachments: must be between 0 and 20, found 30",
				`networks[0].policy.messages.allowedMediaTypes[0]: "image/*" is not a plain lowercase media type such as application/pdf (no wildcards or parameters)`,
				`networks[0].policy.messages.allowedMediaTypes[1]: "text/plain; charset=utf-8" is not a plain lowercase media type such as application/pdf (no wildcards or parameters)`,
				`networks[0].policy.messages.allowedMediaTypes[2]: "Image/PNG" is not a plain lowercase media type such as application/pdf (no wildcards or parameters)`,
				"networks[0].policy.messages.replyWithinBusinessDays: must be between 1 and 30, found 0",
				"networks[0].policy.messages.urgentWarning: an urgent-care warning is required",
			},
		},
		{
			name:   "units",
			policy: "messages: {clinicianLookback: 3m, maxAttachmentSize: lots}\nresults: {heldForClinician: ['a|b|c']}\nappointments: {waitlistOfferExpiry: 0, newPatientAfter: 0, selfScheduleSpecialties: [Dermatology, x, x]}\n",
			want: []string{
				`networks[0].policy.messages.clinicianLookback: invalid period "3m": "m" is ambiguous; write mo for months (use forms like 3y, 1mo, 2w, 45d or P3Y, P1M)`,
				`networks[0].policy.messages.maxAttachmentSize: invalid size "lots" (use forms like 10MiB, 25MB or a number of bytes)`,
				`networks[0].policy.results.heldForClinician[0]: invalid code "a|b|c": more than one |`,
				"networks[0].policy.appointments.waitlistOfferExpiry: must be positive",
				"networks[0].policy.appointments.newPatientAfter: must be a positive period such as 3y",
				`networks[0].policy.appointments.selfScheduleSpecialties[0]: invalid specialty "Dermatology": use lowercase letters, digits and hyphens`,
				`networks[0].policy.appointments.selfScheduleSpecialties[2]: specialty "x" is listed twice`,
			},
		},
		{
			name:   "limits",
			policy: "billing: {planMaxMonths: 0, maxActivePlans: 0}\nsignUp: {minAge: -1, lockout: 0s, maxFailedAttempts: 0}\nguarantor: {categories: []}\n",
			want: []string{
				"networks[0].policy.billing.planMaxMonths: must be between 1 and 120, found 0",
				"networks[0].policy.billing.maxActivePlans: must be at least 1, found 0",
				"networks[0].policy.signUp.minAge: must be between 0 and 25, found -1",
				"networks[0].policy.signUp.lockout: must be positive",
				"networks[0].policy.signUp.maxFailedAttempts: must be at least 1, found 0",
				"networks[0].policy.guarantor.categories: at least one category is required (known: allergies, appointments, billing, care-team, conditions, documents, immunizations, insurance, medications, messages, notes, procedures, results, visits, vitals)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			indented := "      " + strings.ReplaceAll(strings.TrimSuffix(tt.policy, "\n"), "\n", "\n      ") + "\n"
			_, err := Load("test.yaml", []byte(baseConfig+"    policy:\n"+indented), testOptions(t, nil)...)
			var got []string
			for _, fe := range FieldErrors(err) {
				got = append(got, fe.Field+": "+fe.Err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEndpointAuthValidation(t *testing.T) {
	ec := jwkJSON(t, testECKey(t), "")
	rsaJWK := jwkJSON(t, testRSAKey(), "")
	rsa256 := jwkJSON(t, testRSAKey(), "RS256")
	tests := []struct {
		name string
		auth string
		vars map[string]string
		want []string
	}{
		{
			name: "epic with an inline RSA key",
			auth: "{kind: backend-services, clientID: gw, scopes: [system/*.read], jwk: '${K}'}",
			vars: map[string]string{"K": rsaJWK},
		},
		{
			name: "epic with an EC key",
			auth: "{kind: backend-services, clientID: gw, scopes: [system/*.read], jwk: '${K}'}",
			vars: map[string]string{"K": ec},
			want: []string{"networks[0].orgs[0].endpoints[0].auth.jwk: the key cannot sign RS384 client assertions"},
		},
		{
			name: "epic with a key for another algorithm",
			auth: "{kind: backend-services, clientID: gw, scopes: [system/*.read], jwk: '${K}'}",
			vars: map[string]string{"K": rsa256},
			want: []string{"networks[0].orgs[0].endpoints[0].auth.jwk: the key is for RS256 but the platform signs with RS384"},
		},
		{
			name: "epic with a key file and a secret",
			auth: "{kind: backend-services, clientID: gw, scopes: [system/*.read], privateKeyFile: /keys/gw.pem, clientSecret: s}",
			want: []string{"networks[0].orgs[0].endpoints[0].auth.clientSecret: platform epic takes a private key, not a client secret"},
		},
		{
			name: "key file and jwk",
			auth: "{kind: backend-services, clientID: gw, scopes: [system/*.read], privateKeyFile: /keys/gw.pem, jwk: '${K}'}",
			vars: map[string]string{"K": rsaJWK},
			want: []string{"networks[0].orgs[0].endpoints[0].auth.jwk: give privateKeyFile or jwk, not both"},
		},
		{
			name: "not a JWK",
			auth: "{kind: backend-services, clientID: gw, scopes: [system/*.read], jwk: {kty: RSA, n: x}}",
			want: []string{"networks[0].orgs[0].endpoints[0].auth.jwk: invalid JWK: illegal base64 data at input byte 0"},
		},
		{
			name: "standalone without launch/patient or redirect",
			auth: "{kind: standalone, clientID: gw, scopes: [patient/*.read]}",
			want: []string{
				"networks[0].orgs[0].endpoints[0].auth.redirectURL: a redirect URL is required for standalone launch",
				"networks[0].orgs[0].endpoints[0].auth.scopes: a standalone patient launch needs the launch/patient scope",
			},
		},
		{
			name: "none with a client",
			auth: "{kind: none, clientID: gw}",
			want: []string{"networks[0].orgs[0].endpoints[0].auth: auth kind none takes no client, scopes, keys or URLs"},
		},
		{
			name: "unknown kind and bad token URL",
			auth: "{kind: magic, tokenURL: 'ftp://x.example/token'}",
			want: []string{
				`networks[0].orgs[0].endpoints[0].auth.kind: unknown auth kind "magic" (known: backend-services, none, standalone)`,
				`networks[0].orgs[0].endpoints[0].auth.tokenURL: "ftp://x.example/token" must be an https URL`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(baseConfig, "            auth:\n              kind: none\n", "            auth: "+tt.auth+"\n", 1)
			_, err := Load("test.yaml", []byte(src), testOptions(t, tt.vars)...)
			var got []string
			for _, fe := range FieldErrors(err) {
				got = append(got, fe.Field+": "+fe.Err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
