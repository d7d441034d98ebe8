package adapters

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portalgate/portalgate/fhir"
)

func TestNewRefusesBadEndpoints(t *testing.T) {
	smart := platform(t, "smart")
	const base = "https://x.example/r4"
	cases := map[string]Endpoint{
		"no platform":   {BaseURL: base, Auth: Auth{Kind: AuthNone}},
		"bad platform":  {BaseURL: base, Platform: fhir.Platform{Name: "x", PreviousRelation: "back"}, Auth: Auth{Kind: AuthNone}},
		"relative base": {BaseURL: "/r4", Platform: smart, Auth: Auth{Kind: AuthNone}},
		"no client":     {BaseURL: base, Platform: smart, Auth: Auth{Kind: AuthBackendServices}},
		"no key":        {BaseURL: base, Platform: smart, Auth: Auth{Kind: AuthBackendServices, ClientID: "c"}},
		"no auth kind":  {BaseURL: base, Platform: smart},
		"token source":  {BaseURL: base, Platform: platform(t, "athena"), Auth: Auth{Kind: AuthTokenSource, ClientID: "c"}},
	}
	for name, ep := range cases {
		if _, err := New(ep, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAuthPrintsNoCredentials(t *testing.T) {
	for _, auth := range []Auth{
		{Kind: AuthBackendServices, ClientID: "portalgate", ClientSecret: testSecret},
		{Kind: AuthBackendServices, ClientID: "portalgate", Key: privateJWK(testRSAKey())},
	} {
		ep := Endpoint{Name: "lakeside", Auth: auth}
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, nil)).Info("endpoint", "auth", auth)
		for _, out := range []string{fmt.Sprint(ep), fmt.Sprintf("%+v", ep), fmt.Sprintf("%#v", ep), logged.String()} {
			if strings.Contains(out, testSecret) || !strings.Contains(out, "portalgate") || !strings.Contains(out, "[redacted]") {
				t.Errorf("printed as %s", out)
			}
		}
	}
}

func TestReadConditional(t *testing.T) {
	_, a, _ := openUpstream(t)
	ctx := context.Background()
	first, err := a.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if first.ETag == "" {
		t.Fatal("no ETag")
	}
	again, err := a.Read(ctx, "Patient", "p1", fhir.IfNoneMatch(first.ETag))
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != http.StatusNotModified || again.Body != nil {
		t.Errorf("conditional read: status %d, %d bytes", again.Status, len(again.Body))
	}
}

func TestCreateAndUpdate(t *testing.T) {
	up := newUpstream(t, upstreamConfig{platform: "epic"})
	up.load(t, patient("p1"))
	a, _ := up.adapterFor(t, up.endpoint(), Options{})
	ctx := context.Background()

	created, err := a.Create(ctx, "Communication",
		[]byte(`{"resourceType":"Communication","status":"completed","subject":{"reference":"Patient/p1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != http.StatusCreated || created.Location == "" {
		t.Errorf("create: status %d, location %q", created.Status, created.Location)
	}
	current, err := a.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	updated, err := a.Update(ctx, "Patient", "p1",
		[]byte(`{"resourceType":"Patient","id":"p1","name":[{"family":"Renamed"}]}`), fhir.IfMatch(current.ETag))
	if err != nil {
		t.Fatal(err)
	}
	if updated.Status != http.StatusOK {
		t.Errorf("update: status %d", updated.Status)
	}
	if _, err := a.Update(ctx, "Patient", "p1", []byte(patient("p1")), fhir.IfMatch(current.ETag)); !errors.Is(err, fhir.ErrConflict) {
		t.Errorf("update with a stale ETag: err = %v, want ErrConflict", err)
	}
}

func TestWriteNotDeclaredRefused(t *testing.T) {
	var posts int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metadata" {
			w.Header().Set("Content-Type", fhir.ContentType)
			_, _ = io.WriteString(w, `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","rest":[{"mode":"server",`+
				`"resource":[{"type":"Communication","interaction":[{"code":"read"},{"code":"search-type"}]}]}]}`)
			return
		}
		posts++
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	a, err := New(endpointAt(t, srv.URL, "smart"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Create(context.Background(), "Communication", []byte(`{"resourceType":"Communication","status":"completed"}`))
	if !errors.Is(err, ErrNotSupported) || posts != 0 {
		t.Errorf("err = %v after %d posts; want ErrNotSupported before sending", err, posts)
	}
}

func TestCapabilities(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		platform   string
		everything bool
	}{{"smart", true}, {"epic", false}, {"cerner", false}} {
		up := newUpstream(t, upstreamConfig{platform: tc.platform, open: true})
		a, _ := up.adapterFor(t, endpointAt(t, up.URL, tc.platform), Options{})
		caps, err := a.Capabilities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if caps.Everything() != tc.everything {
			t.Errorf("%s: Everything = %v", tc.platform, caps.Everything())
		}
		if !caps.Supports("Observation", "search-type") || caps.Platform.Name != tc.platform {
			t.Errorf("%s: capabilities %+v", tc.platform, caps.Server.Resources["Observation"])
		}
		// Cached until the hour is up.
		_, _ = a.Capabilities(ctx)
		up.clock.Advance(capabilitiesTTL - 1)
		_, _ = a.Capabilities(ctx)
		if n := len(up.requests("/metadata")); n != 1 {
			t.Errorf("%s: metadata fetched %d times within the hour", tc.platform, n)
		}
		up.clock.Advance(1)
		_, _ = a.Capabilities(ctx)
		if n := len(up.requests("/metadata")); n != 2 {
			t.Errorf("%s: metadata fetched %d times after the hour", tc.platform, n)
		}
	}
}
