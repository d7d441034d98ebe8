package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/sandbox"
	"github.com/portalgate/portalgate/gateway/store/storeurl"
)

func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address; everything is served on this one listener")
	dataDir := fs.String("data-dir", "", "directory of the embedded store (default: a new temporary directory)")
	fhirData := fs.String("fhir-data", "", "also load the Synthea and Inferno patients of this directory (such as ../shared/fhir-data)")
	seed := fs.Uint64("seed", 1, "seed of the generated records")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	logger := slog.New(gateway.WithRequestID(gateway.NewJSONHandler(stderr, level)))

	dir := *dataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "portalgate-sandbox-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	st, err := storeurl.Open(ctx, "", storeurl.Options{BoltPath: filepath.Join(dir, "portalgate.db")})
	if err != nil {
		return fmt.Errorf("opening the embedded store: %w", err)
	}
	defer st.Close()

	// Listen first: the sandbox's URLs name the actual address (port 0 works).
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	baseURL := "http://" + ln.Addr().String()

	srv, err := gateway.New(gateway.Options{Logger: logger, Version: version})
	if err != nil {
		ln.Close()
		return err
	}
	srv.AddReadyCheck("store", st.Ping)
	sb, err := sandbox.New(sandbox.Options{BaseURL: baseURL, FHIRData: *fhirData, Seed: *seed, Logger: logger})
	if err != nil {
		ln.Close()
		return err
	}
	sb.Register(srv)
	printSandbox(stdout, sb)
	srv.SetReady(true)
	return gateway.Serve(ctx, ln, srv.Handler(), gateway.ServeOptions{Logger: logger})
}

func printSandbox(w io.Writer, sb *sandbox.Sandbox) {
	base := sb.BaseURL()
	fmt.Fprintf(w, "PortalGate sandbox at %s\n\n", base)
	fmt.Fprintf(w, "  index      %s/sandbox\n", base)
	fmt.Fprintf(w, "  ready      %s/readyz\n", base)
	fmt.Fprintf(w, "  metrics    %s/metrics\n\n", base)
	idx := sb.Index()
	for _, n := range idx.Networks {
		fmt.Fprintf(w, "  network %s (%s)\n", n.ID, n.Name)
		for _, o := range n.Orgs {
			fmt.Fprintf(w, "    %-20s %-7s %s\n", o.ID, o.Platform, o.FHIRBase)
		}
	}
	fmt.Fprintln(w, "\n  people (username / password):")
	for _, p := range idx.People {
		if p.Username != "" {
			fmt.Fprintf(w, "    %-12s %-22s %s, %d\n", p.Username, p.Password, p.Name, p.Age)
		}
	}
	fmt.Fprintln(w)
}
