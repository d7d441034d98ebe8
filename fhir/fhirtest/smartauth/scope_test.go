package smartauth

import (
	"slices"
	"testing"
)

func TestParseResourceScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want resourceScope
		ok   bool
	}{
		{"patient/Observation.read", resourceScope{"patient", "Observation", "rs", ""}, true},
		{"patient/*.rs", resourceScope{"patient", "*", "rs", ""}, true},
		{"user/Condition.write", resourceScope{"user", "Condition", "cud", ""}, true},
		{"system/*.*", resourceScope{"system", "*", "cruds", ""}, true},
		{"patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
			resourceScope{"patient", "Observation", "rs", "category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}, true},
		{"patient/Observation.cruds", resourceScope{"patient", "Observation", "cruds", ""}, true},
		{"patient/Observation.sr", resourceScope{}, false}, // out of order
		{"patient/Observation.rr", resourceScope{}, false},
		{"patient/Observation.x", resourceScope{}, false},
		{"patient/Observation.", resourceScope{}, false},
		{"patient/Observation", resourceScope{}, false},
		{"patient/.rs", resourceScope{}, false},
		{"patient/Obs-1.rs", resourceScope{}, false},
		{"practitioner/*.rs", resourceScope{}, false},
		{"launch/patient", resourceScope{}, false},
		{"offline_access", resourceScope{}, false},
	} {
		got, ok := parseResourceScope(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseResourceScope(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestScopeCovers(t *testing.T) {
	for _, tc := range []struct {
		held, asked string
		want        bool
	}{
		{"patient/*.read", "patient/Observation.rs", true},
		{"patient/*.read", "patient/Observation.r", true},
		{"patient/*.rs", "patient/Observation.read", true},
		{"patient/*.read", "patient/Observation.write", false},
		{"patient/*.rs", "patient/Observation.c", false},
		{"patient/Observation.rs", "patient/Condition.rs", false},
		{"patient/*.rs", "user/Observation.rs", false},
		{"patient/Observation.rs", "patient/Observation.rs?category=laboratory", true},
		{"patient/Observation.rs?category=laboratory", "patient/Observation.rs", false},
		{"patient/Observation.rs?category=laboratory", "patient/Observation.rs?category=vital-signs", false},
		{"launch/patient", "launch/patient", true},
		{"launch/patient", "launch", false},
		{"system/*.*", "system/Patient.cruds", true},
	} {
		if got := scopeCovers(tc.held, tc.asked); got != tc.want {
			t.Errorf("scopeCovers(%q, %q) = %v, want %v", tc.held, tc.asked, got, tc.want)
		}
	}
}

func TestGrantScopes(t *testing.T) {
	requested := []string{"launch/patient", "openid", "fhirUser", "patient/*.rs", "user/Observation.read",
		"system/*.rs", "offline_access", "online_access", "launch"}
	if got, want := grantScopes(requested, nil, patientAccess),
		[]string{"launch/patient", "patient/*.rs", "user/Observation.read", "offline_access", "online_access"}; !slices.Equal(got, want) {
		t.Errorf("patient access = %v, want %v", got, want)
	}
	if got, want := grantScopes(requested, nil, systemAccess), []string{"system/*.rs"}; !slices.Equal(got, want) {
		t.Errorf("system access = %v, want %v", got, want)
	}
	allowed := []string{"launch/patient", "patient/Observation.read"}
	asked := []string{"patient/Observation.rs", "patient/Condition.rs", "launch/patient", "offline_access"}
	if got, want := grantScopes(asked, allowed, patientAccess), []string{"patient/Observation.rs", "launch/patient"}; !slices.Equal(got, want) {
		t.Errorf("restricted client = %v, want %v", got, want)
	}
}

func TestParseScopes(t *testing.T) {
	got, err := parseScopes("  launch/patient  patient/*.rs launch/patient ")
	if err != nil || !slices.Equal(got, []string{"launch/patient", "patient/*.rs"}) {
		t.Errorf("parseScopes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "   ", "a\"b", `back\slash`, "tab\there", "é"} {
		if _, err := parseScopes(bad); err == nil {
			t.Errorf("parseScopes(%q) accepted", bad)
		}
	}
}

func TestDescribeScope(t *testing.T) {
	for in, want := range map[string]string{
		"patient/Observation.rs?category=laboratory": "Read, search your Observation records (only category=laboratory)",
		"patient/*.read":  "Read, search all your records",
		"user/*.cud":      "Create, update, delete all your records",
		"offline_access":  "Keep access after you close the app, until you revoke it",
		"something/else":  "something/else",
		"patient/Goal.rs": "Read, search your Goal records",
	} {
		if got := describeScope(in); got != want {
			t.Errorf("describeScope(%q) = %q, want %q", in, got, want)
		}
	}
}
