package idp

import "testing"

func TestSealerRejectsAnythingItDidNotSeal(t *testing.T) {
	s, err := newSealer()
	if err != nil {
		t.Fatal(err)
	}
	other, err := newSealer()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Encrypt("token-id:alex-rivera")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Decrypt(sealed); err != nil || got != "token-id:alex-rivera" {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	again, _ := s.Encrypt("token-id:alex-rivera")
	if again == sealed {
		t.Error("sealing twice gave the same value; the nonce is not random")
	}

	altered := []byte(sealed)
	mid := len(altered) / 2
	altered[mid] = map[bool]byte{true: 'B', false: 'A'}[altered[mid] == 'A']
	otherSealed, _ := other.Encrypt("token-id:alex-rivera")
	for name, v := range map[string]string{
		"empty":          "",
		"not base64":     "!!!",
		"too short":      sealed[:20],
		"truncated":      sealed[:len(sealed)-1],
		"altered":        string(altered),
		"other key":      otherSealed,
		"padded":         sealed + "=",
		"plain id:token": "token-id:alex-rivera",
	} {
		if got, err := s.Decrypt(v); err == nil {
			t.Errorf("%s: opened to %q", name, got)
		}
	}
}

func TestCSPOrigin(t *testing.T) {
	tests := []struct {
		uri, want string
	}{
		{"http://127.0.0.1:8080/auth/callback", " http://127.0.0.1:8080"},
		{"https://portal.example/cb?x=1", " https://portal.example"},
		{"http://[::1]:9000/cb", " http://[::1]:9000"},
		{"https://evil.example;script-src*/cb", ""},
		{"https://evil.example'/cb", ""},
		{"javascript:alert(1)", ""},
		{"/relative", ""},
		{"::not a url", ""},
	}
	for _, tt := range tests {
		if got := cspOrigin(tt.uri); got != tt.want {
			t.Errorf("cspOrigin(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}

func TestValidChallenge(t *testing.T) {
	tests := []struct {
		challenge string
		ok        bool
	}{
		{"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", true},
		{"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=", false},
		{"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", false},
		{"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", false},
		{"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMA", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := validChallenge(tt.challenge); got != tt.ok {
			t.Errorf("validChallenge(%q) = %v, want %v", tt.challenge, got, tt.ok)
		}
	}
}

// FuzzSealerDecrypt feeds access tokens and codes as a client could send
// them: only values this sealer produced open.
func FuzzSealerDecrypt(f *testing.F) {
	s, err := newSealer()
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := s.Encrypt("id:subject")
	f.Add(sealed)
	f.Add("")
	f.Add("AAAA")
	f.Add(sealed[:len(sealed)-3])
	f.Fuzz(func(t *testing.T, v string) {
		plain, err := s.Decrypt(v)
		if err == nil && v != sealed {
			t.Fatalf("opened a value it did not seal: %q → %q", v, plain)
		}
		round, err := s.Encrypt(v)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := s.Decrypt(round); err != nil || back != v {
			t.Fatalf("round trip of %q: %q, %v", v, back, err)
		}
	})
}
