package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrPaging reports a next link the client will not follow: one to another
// scheme or host than the base (the authorised client would send its token
// there), one already visited, or one past the page limit.
var ErrPaging = errors.New("fhir: unusable paging link")

// ErrTooLarge reports a reply bigger than the client accepts.
var ErrTooLarge = errors.New("fhir: reply too large")

// Client defaults.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxPages         = 500
	DefaultMaxResponseBytes = 32 << 20
	defaultUserAgent        = "portalgate-fhir/1"
)

// Client is a FHIR R4 REST client for one base URL. It does not retry:
// retries, backoff and circuit breaking belong to the callers that know
// which calls are safe to repeat. A Client is safe for concurrent use.
type Client struct {
	base      *url.URL // without a trailing slash
	http      *http.Client
	timeout   time.Duration
	userAgent string
	maxPages  int
	maxBytes  int64
	now       func() time.Time
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client, typically one authorised by
// golang.org/x/oauth2. The Client uses a copy whose redirects stay on the
// base's scheme and host, since an oauth2 transport would send its token
// along any redirect.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithTimeout sets the deadline applied to a call whose context has none
// (DefaultTimeout otherwise). A Search counts as one call across its pages.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) ClientOption {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithMaxPages bounds how many pages one search may follow (DefaultMaxPages
// otherwise); going past it is an error, never a silent truncation.
func WithMaxPages(n int) ClientOption {
	return func(c *Client) {
		if n > 0 {
			c.maxPages = n
		}
	}
}

// WithMaxResponseBytes bounds the size of one reply (DefaultMaxResponseBytes otherwise).
func WithMaxResponseBytes(n int64) ClientOption {
	return func(c *Client) {
		if n > 0 {
			c.maxBytes = n
		}
	}
}

// WithClock sets the clock used to read Retry-After dates.
func WithClock(now func() time.Time) ClientOption {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// NewClient returns a client for the FHIR base URL (http or https).
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("fhir: base URL: %w", err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("fhir: base URL %q must be an absolute http(s) URL", redactURL(baseURL))
	}
	if base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("fhir: base URL %q must not carry a query, fragment or user info", redactURL(baseURL))
	}
	c := &Client{
		base:      base,
		http:      http.DefaultClient,
		timeout:   DefaultTimeout,
		userAgent: defaultUserAgent,
		maxPages:  DefaultMaxPages,
		maxBytes:  DefaultMaxResponseBytes,
		now:       time.Now,
	}
	for _, opt := range opts {
		opt(c)
	}
	hc := *c.http
	hc.CheckRedirect = c.checkRedirect
	c.http = &hc
	return c, nil
}

// BaseURL returns the base URL without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("fhir: stopped after 10 redirects")
	}
	if !c.sameOrigin(req.URL) {
		return fmt.Errorf("fhir: refusing redirect to %s://%s", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// RequestOption sets a header of one request.
type RequestOption func(http.Header)

// IfMatch makes an update conditional on the resource's current ETag.
func IfMatch(etag string) RequestOption {
	return func(h http.Header) { h.Set("If-Match", etag) }
}

// IfNoneMatch makes a read answer 304 when the ETag is still current.
func IfNoneMatch(etag string) RequestOption {
	return func(h http.Header) { h.Set("If-None-Match", etag) }
}

// IfModifiedSince makes a read answer 304 when nothing changed since t.
func IfModifiedSince(t time.Time) RequestOption {
	return func(h http.Header) { h.Set("If-Modified-Since", t.UTC().Format(http.TimeFormat)) }
}

// IfNoneExist makes a create conditional on no resource matching the
// search query (for example "identifier=http://x|1").
func IfNoneExist(query string) RequestOption {
	return func(h http.Header) { h.Set("If-None-Exist", query) }
}

// Response is a successful reply. A conditional read that found nothing new
// has Status 304 and no Body.
type Response struct {
	Status       int
	Body         json.RawMessage
	ETag         string
	LastModified time.Time
	Location     string
}

// Read fetches typ/id.
func (c *Client) Read(ctx context.Context, typ, id string, opts ...RequestOption) (*Response, error) {
	if !isResourceType(typ) || !isID(id) {
		return nil, fmt.Errorf("fhir: read: %q/%q is not a valid Type/id", typ, id)
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, c.resourceURL(typ, id), nil, "", opts)
	if err != nil || resp.Status == http.StatusNotModified {
		return resp, err
	}
	if err := checkResource(resp.Body, typ); err != nil {
		return nil, fmt.Errorf("fhir: GET %s/%s: %w", typ, id, err)
	}
	return resp, nil
}

// Create posts a new resource of type typ.
func (c *Client) Create(ctx context.Context, typ string, resource json.RawMessage, opts ...RequestOption) (*Response, error) {
	if err := checkOutgoing(resource, typ, ""); err != nil {
		return nil, err
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return c.do(ctx, http.MethodPost, c.resourceURL(typ, ""), resource, ContentType, opts)
}

// Update puts the resource at typ/id.
func (c *Client) Update(ctx context.Context, typ, id string, resource json.RawMessage, opts ...RequestOption) (*Response, error) {
	if !isID(id) {
		return nil, fmt.Errorf("fhir: update: %q is not a valid id", id)
	}
	if err := checkOutgoing(resource, typ, id); err != nil {
		return nil, err
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return c.do(ctx, http.MethodPut, c.resourceURL(typ, id), resource, ContentType, opts)
}

// checkOutgoing makes sure a resource about to be sent is the one meant.
func checkOutgoing(resource json.RawMessage, typ, id string) error {
	if !isResourceType(typ) {
		return fmt.Errorf("fhir: %q is not a resource type", typ)
	}
	h, err := ReadHeader(resource)
	if err != nil {
		return err
	}
	if h.ResourceType != typ {
		return fmt.Errorf("fhir: sending a %s as a %s", h.ResourceType, typ)
	}
	if id != "" && h.ID != "" && h.ID != id {
		return fmt.Errorf("fhir: resource id %q does not match %s/%s", h.ID, typ, id)
	}
	return nil
}

// Capabilities fetches the server's CapabilityStatement.
func (c *Client) Capabilities(ctx context.Context) (*Capabilities, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, c.base.JoinPath("metadata").String(), nil, "", nil)
	if err != nil {
		return nil, err
	}
	caps, err := ParseCapabilities(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fhir: GET metadata: %w: %w", ErrMalformed, err)
	}
	return caps, nil
}

// SearchResult is every page of a search put together.
type SearchResult struct {
	Matches  []BundleEntry
	Includes []BundleEntry
	// Outcomes are the OperationOutcomes found inside the pages (Epic puts
	// its warnings there).
	Outcomes []OperationOutcome
	// Total is the first page's Bundle.total, when the server gave one.
	Total *int
	Pages int
}

// Search runs GET [base]/typ?params and follows every next link. When a
// later page fails, it returns what it gathered so far along with the error.
func (c *Client) Search(ctx context.Context, typ string, params url.Values, opts ...RequestOption) (*SearchResult, error) {
	res := &SearchResult{}
	err := c.SearchPages(ctx, typ, params, res.add, opts...)
	return res, err
}

// SearchPost is Search sent as POST [base]/typ/_search with a form body,
// which keeps the parameters out of URLs and their logs.
func (c *Client) SearchPost(ctx context.Context, typ string, params url.Values, opts ...RequestOption) (*SearchResult, error) {
	res := &SearchResult{}
	err := c.searchPages(ctx, typ, params, true, res.add, opts)
	return res, err
}

// SearchPages runs GET [base]/typ?params and calls fn with each page in
// turn, following next links; an error from fn stops the search.
func (c *Client) SearchPages(ctx context.Context, typ string, params url.Values, fn func(*Bundle) error, opts ...RequestOption) error {
	return c.searchPages(ctx, typ, params, false, fn, opts)
}

func (c *Client) searchPages(ctx context.Context, typ string, params url.Values, post bool, fn func(*Bundle) error, opts []RequestOption) error {
	if !isResourceType(typ) {
		return fmt.Errorf("fhir: search: %q is not a resource type", typ)
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()

	pageURL := c.resourceURL(typ, "")
	method, body, contentType := http.MethodGet, []byte(nil), ""
	if post {
		pageURL += "/_search"
		method, body, contentType = http.MethodPost, []byte(params.Encode()), "application/x-www-form-urlencoded"
	} else if len(params) > 0 {
		pageURL += "?" + params.Encode()
	}
	visited := map[string]bool{pageURL: true}
	for page := 1; ; page++ {
		resp, err := c.do(ctx, method, pageURL, body, contentType, opts)
		if err != nil {
			return err
		}
		b, err := parseSearchset(resp.Body)
		if err != nil {
			return fmt.Errorf("fhir: search %s page %d: %w", typ, page, err)
		}
		if err := fn(b); err != nil {
			return err
		}
		next := b.LinkURL(RelNext)
		if next == "" {
			return nil
		}
		if page >= c.maxPages {
			return fmt.Errorf("%w: search %s has more than %d pages", ErrPaging, typ, c.maxPages)
		}
		nextURL, err := c.nextPageURL(pageURL, next)
		if err != nil {
			return err
		}
		if visited[nextURL] {
			return fmt.Errorf("%w: search %s loops back to a page already read", ErrPaging, typ)
		}
		visited[nextURL] = true
		// Next links are always read with GET, whatever the first request was.
		pageURL, method, body, contentType = nextURL, http.MethodGet, nil, ""
	}
}

// nextPageURL resolves a next link against the current page and refuses
// any that leaves the base's scheme and host.
func (c *Client) nextPageURL(current, next string) (string, error) {
	cur, err := url.Parse(current)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrPaging, err)
	}
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("%w: next link is not a URL", ErrPaging)
	}
	u = cur.ResolveReference(u)
	if !c.sameOrigin(u) {
		return "", fmt.Errorf("%w: next link leads to %s://%s, not to the server's own %s://%s",
			ErrPaging, u.Scheme, u.Host, c.base.Scheme, c.base.Host)
	}
	u.Fragment = ""
	return u.String(), nil
}

// parseSearchset decodes one page and checks it is a searchset.
func parseSearchset(body []byte) (*Bundle, error) {
	b, err := ParseBundle(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if b.Type != BundleSearchset && b.Type != "" {
		return nil, fmt.Errorf("%w: expected a searchset, got a %s bundle", ErrMalformed, b.Type)
	}
	return b, nil
}

// add files one page's entries by their search mode.
func (r *SearchResult) add(b *Bundle) error {
	if r.Pages == 0 {
		r.Total = b.Total
	}
	r.Pages++
	for _, e := range b.Entry {
		if len(e.Resource) == 0 {
			continue
		}
		mode := ""
		if e.Search != nil {
			mode = e.Search.Mode
		}
		h, err := ReadHeader(e.Resource)
		if err != nil {
			return fmt.Errorf("%w: searchset entry: %w", ErrMalformed, err)
		}
		switch {
		case mode == "outcome" || h.ResourceType == "OperationOutcome":
			o, err := ParseOutcome(e.Resource)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			r.Outcomes = append(r.Outcomes, *o)
		case mode == "include":
			r.Includes = append(r.Includes, e)
		default:
			r.Matches = append(r.Matches, e)
		}
	}
	return nil
}

// resourceURL returns [base]/typ or [base]/typ/id.
func (c *Client) resourceURL(typ, id string) string {
	if id == "" {
		return c.base.JoinPath(typ).String()
	}
	return c.base.JoinPath(typ, id).String()
}

// withDeadline applies the default timeout to a context that has no deadline.
func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// do makes one HTTP round trip and turns the reply into a Response or an error.
func (c *Client) do(ctx context.Context, method, target string, body []byte, contentType string, opts []RequestOption) (*Response, error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return nil, requestFailed(method, target, err)
	}
	req.Header.Set("Accept", ContentType)
	req.Header.Set("User-Agent", c.userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, opt := range opts {
		opt(req.Header)
	}
	httpResp, err := c.http.Do(req)
	if err != nil {
		return nil, requestFailed(method, target, err)
	}
	defer httpResp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(httpResp.Body, c.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fhir: %s %s: reading reply: %w", method, redactURL(target), err)
	}
	if int64(len(data)) > c.maxBytes {
		return nil, fmt.Errorf("fhir: %s %s: %w (over %d bytes)", method, redactURL(target), ErrTooLarge, c.maxBytes)
	}

	status := httpResp.StatusCode
	if status < 200 || (status > 299 && status != http.StatusNotModified) {
		fe := &Error{
			Status:     status,
			Method:     method,
			URL:        redactURL(target),
			RetryAfter: parseRetryAfter(httpResp.Header.Get("Retry-After"), c.now()),
		}
		if o, err := ParseOutcome(data); err == nil {
			fe.Outcome = o
		}
		return nil, fe
	}

	resp := &Response{
		Status:   status,
		ETag:     httpResp.Header.Get("ETag"),
		Location: httpResp.Header.Get("Location"),
	}
	if lm := httpResp.Header.Get("Last-Modified"); lm != "" {
		resp.LastModified, _ = http.ParseTime(lm) // a bad date is no reason to fail
	}
	if len(bytes.TrimSpace(data)) > 0 && status != http.StatusNotModified {
		if !json.Valid(data) {
			return nil, fmt.Errorf("fhir: %s %s: %w: reply is not JSON", method, redactURL(target), ErrMalformed)
		}
		resp.Body = data
	}
	return resp, nil
}

// requestFailed wraps the error of a request that got no reply. net/http
// reports it as a *url.Error quoting the whole URL, whose query names the
// patient (Observation?patient=…), and errors end up in logs: the *url.Error
// is rebuilt with the method and the URL cut to scheme, host and path. Its
// cause is kept, so errors.Is still finds context.DeadlineExceeded and
// errors.As the *url.Error and its Timeout method.
func requestFailed(method, target string, err error) error {
	failedURL := target
	if ue, ok := err.(*url.Error); ok { // as every error of Client.Do is
		// A refused redirect names where it was going.
		failedURL, err = ue.URL, ue.Err
	}
	return fmt.Errorf("fhir: %w", &url.Error{Op: method, URL: redactURL(failedURL), Err: err})
}

// checkResource makes sure a read returned a resource of the type asked for.
func checkResource(body []byte, typ string) error {
	h, err := ReadHeader(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if h.ResourceType != typ {
		return fmt.Errorf("%w: asked for a %s, got a %s", ErrMalformed, typ, h.ResourceType)
	}
	return nil
}
