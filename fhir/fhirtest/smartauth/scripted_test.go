package smartauth

import (
	"errors"
	"net/http"
	"testing"
)

func TestPasswordToken(t *testing.T) {
	h := newHarness(t)
	tok, err := h.auth.PasswordToken(publicClient, testUser, testPassword, []string{"launch/patient", "patient/*.read", "system/*.read"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Patient != testPatient || tok.Scope != "launch/patient patient/*.read" {
		t.Errorf("token = %+v, want patient %s and only the patient scopes", tok, testPatient)
	}
	if status, access := h.fhirGet(tok.AccessToken); status != http.StatusOK || access.Patient != testPatient {
		t.Errorf("FHIR read with it: %d %+v", status, access)
	}
	for name, try := range map[string]func() error{
		"wrong password": func() error {
			_, err := h.auth.PasswordToken(publicClient, testUser, "nope", []string{"patient/*.read"})
			return err
		},
		"unknown user": func() error {
			_, err := h.auth.PasswordToken(publicClient, "nobody", testPassword, []string{"patient/*.read"})
			return err
		},
	} {
		if err := try(); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s: %v, want ErrBadCredentials", name, err)
		}
	}
	if _, err := h.auth.PasswordToken(backendRSA, testUser, testPassword, []string{"patient/*.read"}); err == nil {
		t.Error("a backend client got a patient token")
	}
	if _, err := h.auth.PasswordToken(publicClient, testUser, testPassword, []string{"system/*.read"}); err == nil {
		t.Error("a token with no grantable scope was issued")
	}
}
