package identity_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/gateway/identity"
)

func TestValidateReturnTo(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means refused
	}{
		{"", "/"},
		{"/", "/"},
		{"/records", "/records"},
		{"/records?tab=labs&page=2#top", "/records?tab=labs&page=2#top"},
		{"/a/b%20c/%C3%A9", "/a/b%20c/%C3%A9"},
		{"/.well-known/../records", "/.well-known/../records"},
		{"/:colon", "/:colon"},

		{"https://evil.example/records", ""},
		{"http:/evil.example", ""},
		{"//evil.example/records", ""},
		{"///evil.example", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"\\/evil.example", ""},
		{"/\t/evil.example", ""},
		{"/\n/evil.example", ""},
		{"/records\r\nSet-Cookie: a=b", ""},
		{" /records", ""},
		{"/rec ords", ""},
		{"/é", ""},
		{"javascript:alert(1)", ""},
		{"records", ""},
		{"?x=1", ""},
		{"#top", ""},
		{"/%zz", ""},
		{"/" + strings.Repeat("a", 2048), ""},
	}
	for _, tt := range tests {
		got, err := identity.ValidateReturnTo(tt.in)
		switch {
		case tt.want == "" && !errors.Is(err, identity.ErrInvalidReturnTo):
			t.Errorf("ValidateReturnTo(%q) = %q, %v; want ErrInvalidReturnTo", tt.in, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("ValidateReturnTo(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzValidateReturnTo checks that whatever it accepts stays on this site
// when a browser resolves it against the page it is served from.
func FuzzValidateReturnTo(f *testing.F) {
	for _, seed := range []string{"", "/", "/records?x=1#y", "//evil", "/\\evil", "https://evil", "/%2F%2Fevil", "/\t/evil", "/@evil", "/..//evil"} {
		f.Add(seed)
	}
	base, _ := url.Parse("https://gateway.example/auth/callback?code=x&state=y")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := identity.ValidateReturnTo(in)
		if err != nil {
			if !errors.Is(err, identity.ErrInvalidReturnTo) {
				t.Fatalf("error %v is not ErrInvalidReturnTo", err)
			}
			return
		}
		if in != "" && got != in {
			t.Fatalf("accepted %q as %q", in, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n ") {
			t.Fatalf("accepted %q", got)
		}
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted unparsable %q: %v", got, err)
		}
		if r := base.ResolveReference(ref); r.Scheme != base.Scheme || r.Host != base.Host || r.User != nil {
			t.Fatalf("%q leads to %s", got, r)
		}
	})
}
