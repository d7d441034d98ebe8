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
	"time"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/sandbox"
	"github.com/portalgate/portalgate/gateway/store"
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
	// Listen first: the sandbox's URLs name the actual address (port 0 works).
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	app, err := newSandboxApp(ctx, sandboxOptions{
		BaseURL: "http://" + ln.Addr().String(), DataDir: dir, FHIRData: *fhirData, Seed: *seed, Logger: logger,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer app.store.Close()
	printSandbox(stdout, app.sandbox)
	return gateway.Serve(ctx, ln, app.server.Handler(), gateway.ServeOptions{Logger: logger})
}

type sandboxOptions struct {
	BaseURL  string
	DataDir  string
	FHIRData string
	Seed     uint64
	Now      func() time.Time
	Logger   *slog.Logger
}

// sandboxApp is the whole sandbox, assembled as the sandbox command runs it.
type sandboxApp struct {
	server   *gateway.Server
	services *services
	sandbox  *sandbox.Sandbox
	store    store.Store
}

// newSandboxApp assembles the sandbox: the embedded store, the simulated
// network with its EHRs and identity provider, the sandbox people enrolled,
// and the gateway serving all of it. It is ready when it returns.
func newSandboxApp(ctx context.Context, opts sandboxOptions) (*sandboxApp, error) {
	st, err := storeurl.Open(ctx, "", storeurl.Options{BoltPath: filepath.Join(opts.DataDir, "portalgate.db"), Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("opening the embedded store: %w", err)
	}
	app, err := assembleSandbox(ctx, st, opts)
	if err != nil {
		st.Close()
	}
	return app, err
}

func assembleSandbox(ctx context.Context, st store.Store, opts sandboxOptions) (*sandboxApp, error) {
	sb, err := sandbox.New(sandbox.Options{BaseURL: opts.BaseURL, FHIRData: opts.FHIRData, Seed: opts.Seed, Now: opts.Now, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	srv, svc, err := assembleGateway(sb.Config(), st, gatewayOptions{
		Logger: opts.Logger, Source: "portalgate-sandbox", OperatorToken: sandbox.OperatorToken, Now: opts.Now,
	})
	if err != nil {
		return nil, err
	}
	if err := sb.Enroll(ctx, svc.accounts); err != nil {
		return nil, err
	}
	sb.Register(srv)
	return &sandboxApp{server: srv, services: svc, sandbox: sb, store: st}, nil
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
		fmt.Fprintf(w, "    sign in    %s\n", n.Login)
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
