package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/storeurl"
	"github.com/portalgate/portalgate/tenants"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "configuration file (YAML; see configs/config.schema.json)")
	addr := fs.String("addr", ":8080", "listen address")
	storeURL := fs.String("store", "", `state store: "redis://…", "rediss://…", "redis-sentinel://…", or "bolt:PATH"; empty means bbolt in --data-dir`)
	dataDir := fs.String("data-dir", ".", "directory of the embedded store when --store is empty")
	tls := fs.Bool("behind-tls", false, "clients reach the gateway over HTTPS (a TLS-terminating proxy in front; name it with --trusted-proxies)")
	var proxies stringList
	fs.Var(&proxies, "trusted-proxies", "comma-separated addresses or CIDRs of the proxies in front, whose X-Forwarded-For is believed")
	operatorTokenFile := fs.String("operator-token-file", "", "file holding the operator API's Bearer token; empty turns the operator API off")
	cacheKeyFile := fs.String("cache-key-file", "", "file of the record cache's AES-256 keys, hex, one per line, the first encrypting (rotate by putting a new one first); empty: a random key per process")
	source := fs.String("audit-source", "portalgate", "this gateway's name as the observer in audit events, such as its host name")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *configPath == "" {
		fmt.Fprintln(stderr, "serve: --config is required")
		fs.Usage()
		return errUsage
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return err
	}
	if *tls && len(proxies) == 0 {
		// Without the proxy named, every client would appear as the proxy's
		// address: one attacker's wrong codes would lock everyone out.
		fmt.Fprintln(stderr, "serve: --behind-tls needs --trusted-proxies naming the proxy in front")
		return errUsage
	}
	logger := slog.New(gateway.WithRequestID(gateway.NewJSONHandler(stdout, level)))

	cfg, err := tenants.LoadFile(*configPath)
	if err != nil {
		return err
	}
	st, err := storeurl.Open(ctx, *storeURL, storeurl.Options{BoltPath: filepath.Join(*dataDir, "portalgate.db")})
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()

	opToken, err := operatorToken(*operatorTokenFile)
	if err != nil {
		return err
	}
	cacheKeys, err := readCacheKeys(*cacheKeyFile)
	if err != nil {
		return err
	}
	srv, svc, err := assembleGateway(cfg, st, gatewayOptions{Logger: logger, TLS: *tls, TrustedProxies: proxies, Source: *source, OperatorToken: opToken, CacheKeys: cacheKeys})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	defer svc.upstreams.Close()
	logger.Info("portalgate serving", "addr", ln.Addr().String(), "networks", len(cfg.Networks), "version", version)
	return gateway.Serve(ctx, ln, srv.Handler(), gateway.ServeOptions{Logger: logger})
}

type gatewayOptions struct {
	Logger         *slog.Logger
	TLS            bool
	TrustedProxies []string
	Source         string
	OperatorToken  string
	CacheKeys      [][]byte
	Now            func() time.Time
}

// assembleGateway builds the gateway and its services for the networks of
// cfg on st, ready to serve.
func assembleGateway(cfg *tenants.Config, st store.Store, opts gatewayOptions) (*gateway.Server, *services, error) {
	srv, err := gateway.New(gateway.Options{Logger: opts.Logger, TLS: opts.TLS, TrustedProxies: opts.TrustedProxies, Version: version, Now: opts.Now})
	if err != nil {
		return nil, nil, err
	}
	srv.AddReadyCheck("store", st.Ping)
	svc, err := newServices(cfg, st, serviceOptions{Source: opts.Source, OperatorToken: opts.OperatorToken, CacheKeys: opts.CacheKeys, Now: opts.Now})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.RegisterPortal(svc.portal); err != nil {
		return nil, nil, err
	}
	srv.SetReady(true)
	return srv, svc, nil
}

// stringList is a comma-separated flag value.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}
