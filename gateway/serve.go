package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeOptions tune Serve. Zero fields take the defaults below.
type ServeOptions struct {
	// DrainTimeout bounds how long in-flight requests may take to finish
	// once ctx is cancelled (default 20s).
	DrainTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included, against
	// clients trickling a body (default 30s).
	ReadTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers, against slow
	// clients holding connections (default 10s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (default 120s).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds request headers, bearer tokens included
	// (default 64 KiB).
	MaxHeaderBytes int
	// TLSConfig, when set, serves HTTPS (HTTP/2 included) on the listener;
	// it must hold the certificates.
	TLSConfig *tls.Config
	// Logger receives net/http's own errors, such as failed TLS handshakes
	// (default slog.Default).
	Logger *slog.Logger
}

const (
	defaultDrainTimeout      = 20 * time.Second
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultMaxHeaderBytes    = 64 << 10
)

// Serve serves h on ln until ctx is cancelled, then stops accepting
// connections and waits up to the drain timeout for in-flight requests to
// finish. It returns nil after a clean drain, and an error when serving
// failed or the drain timed out (remaining connections are then closed).
// Request contexts are not cancelled by ctx: draining lets them finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts ServeOptions) error {
	opts = opts.withDefaults()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		TLSConfig:         opts.TLSConfig,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}

	served := make(chan error, 1)
	go func() {
		if opts.TLSConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()

	select {
	case err := <-served:
		return fmt.Errorf("gateway: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	opts.Logger.LogAttrs(ctx, slog.LevelInfo, "draining connections",
		slog.String("addr", ln.Addr().String()), slog.Duration("timeout", opts.DrainTimeout))

	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		closeErr := srv.Close()
		<-served
		return fmt.Errorf("gateway: drain after %s: %w", opts.DrainTimeout, errors.Join(err, closeErr))
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

func (o ServeOptions) withDefaults() ServeOptions {
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = defaultDrainTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = defaultReadTimeout
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = defaultIdleTimeout
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
