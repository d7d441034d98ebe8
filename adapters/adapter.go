package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/portalgate/portalgate/fhir"
)

// Defaults for the Options left at zero.
const (
	DefaultTimeout          = 20 * time.Second
	DefaultMaxAttempts      = 3
	DefaultBaseDelay        = 200 * time.Millisecond
	DefaultMaxDelay         = 5 * time.Second
	DefaultFailureThreshold = 5
	DefaultCoolDown         = 30 * time.Second
	// capabilitiesTTL is how long a CapabilityStatement is trusted before
	// it is fetched again.
	capabilitiesTTL = time.Hour
)

// Options tune an Adapter. The zero value is ready for production; tests
// inject Now, Sleep and Rand.
type Options struct {
	// HTTPClient carries FHIR, discovery and token requests; its Transport
	// is used, and bearer tokens are added on top of it. Nil means a shared
	// transport tuned for many requests to few hosts.
	HTTPClient *http.Client
	// TokenSource, when set, authorizes every FHIR request instead of what
	// the endpoint's auth says; it is how a patient's standalone-launch
	// tokens reach the adapter. Required for AuthTokenSource endpoints.
	TokenSource oauth2.TokenSource
	// Timeout bounds each call (a search with all its pages and retries
	// counts as one) when the caller's context allows longer.
	Timeout time.Duration
	Retry   RetryPolicy
	Breaker BreakerPolicy
	// Now is the clock for token expiry, the breaker's cool-down and
	// Retry-After dates.
	Now func() time.Time
	// Sleep waits between retries; it returns early with ctx's error when
	// ctx ends first.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for backoff jitter. It must be safe
	// for concurrent use.
	Rand func() float64
}

// RetryPolicy says how idempotent reads are retried. Writes are never retried.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 turns retries off.
	MaxAttempts int
	// BaseDelay is the backoff ceiling of the first retry; it doubles with
	// each retry up to MaxDelay, and the wait is drawn below it (full jitter).
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// BreakerPolicy says when the endpoint's circuit opens and for how long.
type BreakerPolicy struct {
	// FailureThreshold is the number of consecutive failed upstream
	// exchanges that opens the circuit.
	FailureThreshold int
	// CoolDown is how long the circuit stays open before one probe is let
	// through (half-open); the probe's success closes it.
	CoolDown time.Duration
}

// Adapter calls one upstream FHIR endpoint. It is safe for concurrent use;
// make one per endpoint and keep it, since it holds the endpoint's token and
// circuit breaker.
type Adapter struct {
	name     string
	platform fhir.Platform
	quirks   Quirks
	// upstream is the Searcher the quirks send their searches through.
	upstream Searcher
	client   *fhir.Client
	tokens   tokenSource // nil for an endpoint without authorization

	timeout time.Duration
	retry   RetryPolicy
	breaker *breaker
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	rand    func() float64

	capsMu      sync.Mutex
	caps        *Capabilities
	capsFetched time.Time
}

// New returns an adapter for the endpoint, which must carry a valid
// Platform naming a registered adapter (see Register).
func New(endpoint Endpoint, opts Options) (*Adapter, error) {
	name := endpoint.Name
	if name == "" {
		name = endpoint.Platform.Name
	}
	if err := endpoint.Platform.Validate(); err != nil {
		return nil, fmt.Errorf("adapters: %s: %w", name, err)
	}
	quirks, err := quirksOf(endpoint.Platform)
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: %w", name, err)
	}
	opts = opts.withDefaults()
	a := &Adapter{
		name:     name,
		platform: endpoint.Platform,
		quirks:   quirks,
		timeout:  opts.Timeout,
		retry:    opts.Retry,
		breaker:  newBreaker(name, opts.Breaker, opts.Now),
		now:      opts.Now,
		sleep:    opts.Sleep,
		rand:     opts.Rand,
	}
	a.upstream = a.searchUpstream
	a.tokens, err = newTokenSource(name, endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: %w", name, err)
	}
	hc := opts.HTTPClient
	if a.tokens != nil {
		hc = &http.Client{Transport: &bearerTransport{tokens: a.tokens, base: transportOf(hc)}}
	}
	a.client, err = fhir.NewClient(endpoint.BaseURL,
		fhir.WithHTTPClient(hc), fhir.WithTimeout(opts.Timeout), fhir.WithClock(opts.Now))
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: %w", name, err)
	}
	return a, nil
}

func (o Options) withDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: sharedTransport()}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Retry.MaxAttempts <= 0 {
		o.Retry.MaxAttempts = DefaultMaxAttempts
	}
	if o.Retry.BaseDelay <= 0 {
		o.Retry.BaseDelay = DefaultBaseDelay
	}
	if o.Retry.MaxDelay <= 0 {
		o.Retry.MaxDelay = DefaultMaxDelay
	}
	o.Retry.MaxDelay = max(o.Retry.MaxDelay, o.Retry.BaseDelay)
	if o.Breaker.FailureThreshold <= 0 {
		o.Breaker.FailureThreshold = DefaultFailureThreshold
	}
	if o.Breaker.CoolDown <= 0 {
		o.Breaker.CoolDown = DefaultCoolDown
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	return o
}

var sharedTransport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// The gateway fans out to few hosts with many requests in parallel;
	// the default of 2 idle connections per host would redial constantly.
	t.MaxIdleConnsPerHost = 64
	return t
})

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Name returns the name the adapter gives its endpoint in errors.
func (a *Adapter) Name() string { return a.name }

// Platform returns the quirks the adapter follows.
func (a *Adapter) Platform() fhir.Platform { return a.platform }

// withDeadline bounds a call by the adapter's timeout; a caller's earlier
// deadline stays in force.
func (a *Adapter) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

// Read fetches typ/id, retrying as a read may. Options such as
// fhir.IfNoneMatch make it conditional.
func (a *Adapter) Read(ctx context.Context, typ, id string, opts ...fhir.RequestOption) (*fhir.Response, error) {
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	var resp *fhir.Response
	err := a.call(ctx, true, func(ctx context.Context) error {
		var err error
		resp, err = a.client.Read(ctx, typ, id, opts...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: read %s: %w", a.name, typ, err)
	}
	return resp, nil
}

// Create posts a new resource, when the server declares that it creates
// resources of typ (ErrNotSupported otherwise). It is never retried: a
// create that timed out may have happened.
func (a *Adapter) Create(ctx context.Context, typ string, resource json.RawMessage, opts ...fhir.RequestOption) (*fhir.Response, error) {
	return a.write(ctx, "create", typ, func(ctx context.Context) (*fhir.Response, error) {
		return a.client.Create(ctx, typ, resource, opts...)
	})
}

// Update puts the resource at typ/id, when the server declares that it
// updates resources of typ (ErrNotSupported otherwise). It is never retried;
// pass fhir.IfMatch to make it safe against concurrent changes.
func (a *Adapter) Update(ctx context.Context, typ, id string, resource json.RawMessage, opts ...fhir.RequestOption) (*fhir.Response, error) {
	return a.write(ctx, "update", typ, func(ctx context.Context) (*fhir.Response, error) {
		return a.client.Update(ctx, typ, id, resource, opts...)
	})
}

func (a *Adapter) write(ctx context.Context, interaction, typ string, send func(context.Context) (*fhir.Response, error)) (*fhir.Response, error) {
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	caps, err := a.capabilities(ctx)
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: %s %s: %w", a.name, interaction, typ, err)
	}
	if !caps.Supports(typ, interaction) {
		return nil, fmt.Errorf("adapters: %s: %w: the server does not declare %s on %s", a.name, ErrNotSupported, interaction, typ)
	}
	var resp *fhir.Response
	err = a.call(ctx, false, func(ctx context.Context) error {
		resp, err = send(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: %s %s: %w", a.name, interaction, typ, err)
	}
	return resp, nil
}

// Capabilities is what an endpoint can do: its server's CapabilityStatement
// read together with its platform's quirks.
type Capabilities struct {
	Platform fhir.Platform
	Server   *fhir.Capabilities
}

// Supports reports whether the server declares an interaction (read,
// search-type, create, update…) on typ.
func (c *Capabilities) Supports(typ, interaction string) bool {
	return c.Server.Supports(typ, interaction)
}

// Everything reports whether Patient/$everything may be used: the platform
// has it and the server declares it.
func (c *Capabilities) Everything() bool {
	return c.Platform.Everything && c.Server.Operation("Patient", "everything")
}

// Capabilities returns what the endpoint can do. The CapabilityStatement is
// fetched once an hour at most.
func (a *Adapter) Capabilities(ctx context.Context) (*Capabilities, error) {
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	caps, err := a.capabilities(ctx)
	if err != nil {
		return nil, fmt.Errorf("adapters: %s: capabilities: %w", a.name, err)
	}
	return caps, nil
}

func (a *Adapter) capabilities(ctx context.Context) (*Capabilities, error) {
	a.capsMu.Lock()
	caps, fetched := a.caps, a.capsFetched
	a.capsMu.Unlock()
	if caps != nil && a.now().Sub(fetched) < capabilitiesTTL {
		return caps, nil
	}
	// Concurrent misses may fetch twice; metadata is small and public.
	var server *fhir.Capabilities
	err := a.call(ctx, true, func(ctx context.Context) error {
		var err error
		server, err = a.client.Capabilities(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	caps = &Capabilities{Platform: a.platform, Server: server}
	a.capsMu.Lock()
	a.caps, a.capsFetched = caps, a.now()
	a.capsMu.Unlock()
	return caps, nil
}

// The ways a request fails before it reaches the upstream.
var (
	// ErrUnsupportedSearch reports a search the platform would refuse and
	// its adapter cannot reshape into one it accepts.
	ErrUnsupportedSearch = errors.New("adapters: search not supported by the platform")
	// ErrNotSupported reports a write the server does not declare.
	ErrNotSupported = errors.New("adapters: interaction not supported by the server")
)
