package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

// startServe runs Serve in the background and returns its result channel.
func startServe(ctx context.Context, ln net.Listener, h http.Handler, opts ServeOptions) <-chan error {
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, opts) }()
	return done
}

// waitRefused waits until the address stops accepting connections, which
// is how Shutdown starts.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
	}
	t.Fatalf("%s still accepts connections", addr)
}

func TestServeDrainsInFlightRequest(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	served := startServe(ctx, ln, h, ServeOptions{DrainTimeout: 10 * time.Second})

	type response struct {
		body string
		err  error
	}
	responses := make(chan response, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			responses <- response{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		responses <- response{string(b), err}
	}()

	<-entered
	cancel()
	waitRefused(t, ln.Addr().String())
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}

	close(release)
	if r := <-responses; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request got %q, %v; want it to finish", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after a clean drain", err)
	}
}

func TestServeDrainTimeout(t *testing.T) {
	entered := make(chan struct{})
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-stuck
	})
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	served := startServe(ctx, ln, h, ServeOptions{DrainTimeout: 20 * time.Millisecond})
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	if err := <-served; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v, want the drain deadline exceeded", err)
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	ln := listen(t)
	ln.Close()
	err := Serve(t.Context(), ln, http.NotFoundHandler(), ServeOptions{})
	if err == nil || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener = %v, want net.ErrClosed", err)
	}
}

func TestServeTLS(t *testing.T) {
	cert, pool := selfSignedCert(t)
	ln := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	served := startServe(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}), ServeOptions{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET over TLS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "HTTP/2.0" {
		t.Errorf("protocol = %q, want HTTP/2.0", body)
	}
	client.CloseIdleConnections()
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestServeOptionDefaults(t *testing.T) {
	o := ServeOptions{}.withDefaults()
	if o.DrainTimeout != defaultDrainTimeout || o.ReadHeaderTimeout != defaultReadHeaderTimeout ||
		o.IdleTimeout != defaultIdleTimeout || o.MaxHeaderBytes != defaultMaxHeaderBytes || o.Logger == nil {
		t.Errorf("defaults = %+v", o)
	}
	custom := ServeOptions{DrainTimeout: time.Second, MaxHeaderBytes: 1024}.withDefaults()
	if custom.DrainTimeout != time.Second || custom.MaxHeaderBytes != 1024 {
		t.Errorf("custom values replaced: %+v", custom)
	}
}

func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
