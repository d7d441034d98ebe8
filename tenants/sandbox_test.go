package tenants

import (
	"strings"
	"testing"
	"time"
)

func TestSandboxBirthDateKeepsAge(t *testing.T) {
	for _, age := range []int{0, 7, 12, 17, 18, 42, 101} {
		p := SandboxPerson{ID: "p" + strings.Repeat("x", age%5), Age: &age}
		for day := 0; day < 4*366; day++ {
			now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, day)
			birth := p.BirthDateOn(now)
			if got := AgeOn(birth, now); got != age {
				t.Fatalf("age %d on %s: born %s gives %d", age, now.Format(time.DateOnly), birth, got)
			}
			if DateOf(now).AddDate(-age, 0, 0) == birth {
				t.Fatalf("age %d on %s: birthday is today", age, now.Format(time.DateOnly))
			}
		}
	}
	fixed := Date{1958, time.April, 11}
	p := SandboxPerson{ID: "frank", BirthDate: &fixed}
	if p.BirthDateOn(testNow) != fixed {
		t.Error("a fixed birth date moved")
	}
}

func TestSandboxValidation(t *testing.T) {
	person := func(id, extra string) string {
		return "    - id: " + id + "\n      given: G\n      family: F\n      gender: female\n      records: [acme-hospital]\n" + extra
	}
	tests := []struct {
		name   string
		people string
		want   []string
	}{
		{
			name:   "valid",
			people: person("pat", "      username: pat\n      password: pw\n      age: 40\n      actsFor: [{person: kid, relationship: parent}]\n") + person("kid", "      age: 7\n"),
		},
		{
			name:   "missing person",
			people: person("pat", "      age: 40\n      actsFor: [{person: kim, relationship: parent}]\n"),
			want:   []string{`sandbox.people[0].actsFor[0].person: unknown person "kim"`},
		},
		{
			name:   "age and birth date",
			people: person("pat", "      age: 40\n      birthDate: 1986-01-01\n"),
			want:   []string{`sandbox.people[0]: exactly one of age and birthDate is required`},
		},
		{
			name:   "unknown org and duplicate ids",
			people: "    - {id: pat, given: G, family: F, gender: female, age: 40, records: [riverside, riverside]}\n    - {id: pat, given: G, family: F, gender: female, age: 4, records: [acme-clinic]}\n",
			want: []string{
				`sandbox.people[0].records[0]: unknown org "riverside" in network "acme"`,
				`sandbox.people[0].records[1]: org "riverside" is listed twice`,
				`sandbox.people[1].id: duplicate person id "pat"`,
			},
		},
		{
			name:   "a minor acts for someone",
			people: person("teen", "      age: 16\n      actsFor: [{person: kid, relationship: family}]\n") + person("kid", "      age: 7\n"),
			want: []string{
				`sandbox.people[0].actsFor: a proxy must be an adult (18 or older)`,
				`sandbox.people[0].actsFor[0].relationship: only a parent or guardian acts for a minor, not "family"`,
			},
		},
		{
			name:   "consent of an adult, unknown relationship, self",
			people: person("pat", "      age: 40\n      adolescentConsent: true\n      actsFor: [{person: pat, relationship: cousin}]\n"),
			want: []string{
				`sandbox.people[0].adolescentConsent: applies only to minors`,
				`sandbox.people[0].actsFor[0].person: a person cannot act for themselves`,
				`sandbox.people[0].actsFor[0].relationship: unknown relationship "cousin" (known: adult-child, court-appointed-guardian, family, friend, guardian, parent, spouse)`,
			},
		},
		{
			name:   "username without password, future birth",
			people: person("pat", "      username: pat\n      birthDate: 2030-01-01\n"),
			want: []string{
				`sandbox.people[0].password: a username and a password go together`,
				`sandbox.people[0].birthDate: 2030-01-01 is not a plausible birth date`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := baseConfig + "sandbox:\n  network: acme\n  people:\n" + tt.people
			_, err := Load("test.yaml", []byte(src), testOptions(t, nil)...)
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

func TestSandboxUnknownNetwork(t *testing.T) {
	src := baseConfig + "sandbox:\n  network: nowhere\n  people: []\n"
	_, err := Load("test.yaml", []byte(src), testOptions(t, nil)...)
	want := "test.yaml:26:12: sandbox.network: unknown network \"nowhere\"\ntest.yaml:27:11: sandbox.people: at least one person is required"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestRelationship(t *testing.T) {
	tests := []struct {
		rel   Relationship
		minor bool
		basis ProxyBasis
		role  string
	}{
		{RelParent, true, BasisParent, "PRN"},
		{RelParent, false, BasisInvitation, "PRN"},
		{RelAdultChild, false, BasisInvitation, "CHILD"},
		{RelCourtGuardian, false, BasisCourtOrder, "GUARD"},
		{RelGuardian, true, BasisParent, "GUARD"},
		{"cousin", false, BasisInvitation, ""},
	}
	for _, tt := range tests {
		if got := tt.rel.Basis(tt.minor); got != tt.basis {
			t.Errorf("%s.Basis(%v) = %s, want %s", tt.rel, tt.minor, got, tt.basis)
		}
		if got := tt.rel.RoleCode(); got != tt.role {
			t.Errorf("%s.RoleCode() = %q, want %q", tt.rel, got, tt.role)
		}
	}
}
