package all_test

import (
	"slices"
	"testing"

	"github.com/portalgate/portalgate/adapters"
	_ "github.com/portalgate/portalgate/adapters/all"
	"github.com/portalgate/portalgate/tenants"
)

// TestShippedPlatformsHaveTheirAdapters makes an adapter for every shipped
// platform file, as the gateway does at start: each names an adapter that
// importing this package registers.
func TestShippedPlatformsHaveTheirAdapters(t *testing.T) {
	platforms, err := tenants.DefaultPlatforms()
	if err != nil {
		t.Fatal(err)
	}
	if got := adapters.Registered(); !slices.Equal(got, []string{"athena", "cerner", "epic", "smart"}) {
		t.Errorf("registered = %v", got)
	}
	for name, p := range platforms {
		if !slices.Contains(adapters.Registered(), p.AdapterName()) {
			t.Errorf("platform %s names adapter %q, which is not shipped", name, p.AdapterName())
		}
		if _, err := adapters.New(adapters.Endpoint{BaseURL: "https://ehr.example/r4", Platform: p,
			Auth: adapters.Auth{Kind: adapters.AuthNone}}, adapters.Options{}); err != nil {
			t.Errorf("platform %s: %v", name, err)
		}
	}
}
