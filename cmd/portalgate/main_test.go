package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSandboxCommandServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--log-level", "warn"}, w, io.Discard)
		w.Close()
	}()

	// The first line names the URL the sandbox listens on.
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatalf("sandbox printed nothing (exit %d)", <-done)
	}
	base := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(lines.Text())
	if base == "" {
		t.Fatalf("first line %q names no URL", lines.Text())
	}
	go io.Copy(io.Discard, out)

	for _, path := range []string{"/readyz", "/healthz", "/sandbox", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("sandbox exited %d after cancel, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sandbox did not shut down")
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"serve"}, 2, "--config is required"},
		{[]string{"serve", "--config", "x.yaml", "extra"}, 2, "unexpected arguments"},
		{[]string{"sandbox", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"sandbox", "--log-level", "loud"}, 1, "--log-level"},
		{[]string{"serve", "--config", "/nonexistent/portalgate.yaml"}, 1, "portalgate.yaml"},
		{[]string{"serve", "--config", "x.yaml", "--behind-tls"}, 2, "--trusted-proxies"},
		{[]string{"version"}, 0, ""},
		{[]string{"sandbox", "-h"}, 0, "listen address"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.wantCode, tt.wantErr)
		}
	}
}

func TestServeRefusesAnInvalidConfigNamingTheField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nnetworks:\n  - id: Bad Id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--config", path}, io.Discard, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "bad.yaml:3:") || !strings.Contains(stderr.String(), "networks[0]") {
		t.Errorf("error does not name file, line and field: %s", stderr.String())
	}
}

func TestServeCommandStartsOnTheEmbeddedStore(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "portalgate.yaml")
	err := os.WriteFile(config, []byte(`version: 1
networks:
  - id: example
    name: Example Health
    accountModel: network
    identity:
      issuer: https://login.example.org
      clientID: portalgate
      clientSecret: not-a-real-secret
      redirectURL: https://portal.example.org/auth/callback
    orgs:
      - id: example-hospital
        name: Example Hospital
        membership: affiliated
        endpoints:
          - platform: cerner
            fhirBaseURL: https://fhir.example.org/r4
            auth:
              kind: backend-services
              clientID: portalgate
              scopes: [system/*.read]
              clientSecret: secret-for-tests-only
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", config, "--addr", "127.0.0.1:0", "--data-dir", dir}, w, io.Discard)
		w.Close()
	}()
	// serve logs JSON; the start-up record names the address.
	lines := bufio.NewScanner(out)
	var base string
	for base == "" && lines.Scan() {
		if m := regexp.MustCompile(`"addr":"(127\.0\.0\.1:\d+)"`).FindStringSubmatch(lines.Text()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		t.Fatalf("serve never logged its address (exit %d)", <-done)
	}
	go io.Copy(io.Discard, out)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("readyz: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "portalgate.db")); err != nil {
		t.Errorf("embedded store file: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d after cancel", code)
	}
}
