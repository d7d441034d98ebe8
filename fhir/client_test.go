package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fhirServer is an httptest server whose handler is set per test.
func fhirServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL+"/fhir/r4/", WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func searchset(links map[string]string, total string, entries ...string) string {
	var ls []string
	for rel, u := range links {
		ls = append(ls, fmt.Sprintf(`{"relation":%q,"url":%q}`, rel, u))
	}
	t := ""
	if total != "" {
		t = `"total":` + total + `,`
	}
	return `{"resourceType":"Bundle","type":"searchset",` + t + `"link":[` + strings.Join(ls, ",") + `],"entry":[` + strings.Join(entries, ",") + `]}`
}

func match(typ, id string) string {
	return fmt.Sprintf(`{"fullUrl":"x/%s/%s","resource":{"resourceType":%q,"id":%q},"search":{"mode":"match"}}`, typ, id, typ, id)
}

func TestSearchFollowsEveryPage(t *testing.T) {
	var srvURL string
	srv, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept"); got != ContentType {
			t.Errorf("Accept = %q", got)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "portalgate") {
			t.Errorf("User-Agent = %q", ua)
		}
		q := r.URL.Query()
		switch q.Get("page") {
		case "":
			if r.URL.Path != "/fhir/r4/Observation" || q.Get("patient") != "p1" || q.Get("category") != "laboratory" {
				t.Errorf("first request %s", r.URL)
			}
			writeJSON(w, 200, searchset(map[string]string{"self": srvURL + r.URL.String(), "next": srvURL + "/fhir/r4/Observation?page=2"}, "4",
				match("Observation", "o1"), match("Observation", "o2"),
				`{"resource":{"resourceType":"Patient","id":"p1"},"search":{"mode":"include"}}`))
		case "2":
			// Relative next link and Epic's in-bundle warning.
			writeJSON(w, 200, searchset(map[string]string{"prev": srvURL + "/fhir/r4/Observation", "next": "Observation?page=3"}, "",
				match("Observation", "o3"),
				`{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"processing","details":{"text":"Some results hidden"}}]},"search":{"mode":"outcome"}}`))
		case "3":
			writeJSON(w, 200, searchset(map[string]string{"previous": "Observation?page=2"}, "",
				match("Observation", "o4"),
				`{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"no mode"}]}}`))
		default:
			t.Errorf("unexpected page %s", r.URL)
		}
	})
	srvURL = srv.URL

	res, err := c.Search(context.Background(), "Observation", url.Values{"patient": {"p1"}, "category": {"laboratory"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range res.Matches {
		h, _ := ReadHeader(e.Resource)
		ids = append(ids, h.ID)
	}
	if strings.Join(ids, ",") != "o1,o2,o3,o4" {
		t.Errorf("matches = %v", ids)
	}
	if len(res.Includes) != 1 || len(res.Outcomes) != 2 || res.Pages != 3 {
		t.Errorf("includes %d, outcomes %d, pages %d", len(res.Includes), len(res.Outcomes), res.Pages)
	}
	if res.Total == nil || *res.Total != 4 {
		t.Errorf("total = %v", res.Total)
	}
	if got := res.Outcomes[0].Summary(); got != "Some results hidden" {
		t.Errorf("outcome summary = %q", got)
	}
}

func TestSearchPagesStopsOnCallbackError(t *testing.T) {
	var hits atomic.Int32
	_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 200, searchset(map[string]string{"next": "Patient?page=" + fmt.Sprint(hits.Load())}, "", match("Patient", "1")))
	})
	stop := errors.New("enough")
	err := c.SearchPages(context.Background(), "Patient", nil, func(*Bundle) error { return stop })
	if !errors.Is(err, stop) || hits.Load() != 1 {
		t.Errorf("err = %v after %d requests", err, hits.Load())
	}
}

func TestSearchPost(t *testing.T) {
	_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/fhir/r4/Condition/_search":
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", ct)
			}
			if err := r.ParseForm(); err != nil || r.PostForm.Get("patient") != "p1" || r.URL.RawQuery != "" {
				t.Errorf("form %v, query %q, %v", r.PostForm, r.URL.RawQuery, err)
			}
			writeJSON(w, 200, searchset(map[string]string{"next": "Condition?page=2"}, "", match("Condition", "c1")))
		case r.Method == http.MethodGet && r.URL.Query().Get("page") == "2":
			writeJSON(w, 200, searchset(nil, "", match("Condition", "c2")))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	})
	res, err := c.SearchPost(context.Background(), "Condition", url.Values{"patient": {"p1"}})
	if err != nil || len(res.Matches) != 2 {
		t.Fatalf("SearchPost = %+v, %v", res, err)
	}
}

func TestErrorReplies(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	outcome := `{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational","diagnostics":"minor"},{"severity":"error","code":"not-found","details":{"text":"Resource Patient/9 is not known"}}]}`
	tests := []struct {
		status     int
		body       string
		retryAfter string
		sentinel   error
		wantRetry  time.Duration
		wantInMsg  string
	}{
		{status: 404, body: outcome, sentinel: ErrNotFound, wantInMsg: "Resource Patient/9 is not known (and 1 more issues)"},
		{status: 410, body: outcome, sentinel: ErrNotFound},
		{status: 401, body: `{}`, sentinel: ErrUnauthorized},
		{status: 403, body: ``, sentinel: ErrForbidden, wantInMsg: "403 Forbidden"},
		{status: 409, body: outcome, sentinel: ErrConflict},
		{status: 412, body: outcome, sentinel: ErrConflict},
		{status: 400, body: outcome, sentinel: ErrBadRequest},
		{status: 422, body: outcome, sentinel: ErrBadRequest},
		{status: 429, retryAfter: "7", sentinel: ErrRateLimited, wantRetry: 7 * time.Second, wantInMsg: "retry after 7s"},
		{status: 503, retryAfter: now.Add(90 * time.Second).Format(http.TimeFormat), sentinel: ErrUnavailable, wantRetry: 90 * time.Second},
		{status: 500, body: `<html>oops</html>`, sentinel: ErrUnavailable},
		{status: 502, retryAfter: "soon", sentinel: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				writeJSON(w, tt.status, tt.body)
			}))
			defer srv.Close()
			c, err := NewClient(srv.URL, WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Search(context.Background(), "Patient", url.Values{"name": {"Secret Name"}})
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if !errors.Is(err, tt.sentinel) || fe.Status != tt.status || fe.Method != "GET" {
				t.Errorf("error %v: status %d, want sentinel %v", err, fe.Status, tt.sentinel)
			}
			for _, other := range []error{ErrNotFound, ErrUnauthorized, ErrForbidden, ErrConflict, ErrBadRequest, ErrRateLimited, ErrUnavailable, ErrMalformed} {
				if other != tt.sentinel && errors.Is(err, other) {
					t.Errorf("error also matches %v", other)
				}
			}
			if fe.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %s, want %s", fe.RetryAfter, tt.wantRetry)
			}
			if (tt.body == outcome) != (fe.Outcome != nil) {
				t.Errorf("outcome = %+v", fe.Outcome)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantInMsg) || strings.Contains(msg, "Secret") {
				t.Errorf("message %q: want %q and no query", msg, tt.wantInMsg)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{" 120 ", 2 * time.Minute},
		{"99999999999", 24 * time.Hour},
		{now.Add(time.Second).Format(http.TimeFormat), time.Second},
		{now.Format(http.TimeFormat), 0},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Sunday, 22-Nov-26 10:00:30 GMT", 30 * time.Second}, // RFC 850
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestMalformedReplies(t *testing.T) {
	tests := map[string]struct {
		body string
		call func(*Client) error
	}{
		"search not json":       {`<html>`, searchPatients},
		"search not bundle":     {`{"resourceType":"Patient","id":"1"}`, searchPatients},
		"search history bundle": {`{"resourceType":"Bundle","type":"history"}`, searchPatients},
		"search entry no type":  {`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"id":"1"}}]}`, searchPatients},
		"search bad outcome":    {`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"OperationOutcome","issue":"x"},"search":{"mode":"outcome"}}]}`, searchPatients},
		"read truncated":        {`{"resourceType":"Patient"`, readPatient},
		"read empty":            {``, readPatient},
		"read other type":       {`{"resourceType":"Observation","id":"1"}`, readPatient},
		"metadata":              {`{"resourceType":"Patient"}`, func(c *Client) error { _, err := c.Capabilities(context.Background()); return err }},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, tt.body) })
			if err := tt.call(c); !errors.Is(err, ErrMalformed) {
				t.Errorf("error = %v, want ErrMalformed", err)
			}
		})
	}
}

func searchPatients(c *Client) error {
	_, err := c.Search(context.Background(), "Patient", nil)
	return err
}

func readPatient(c *Client) error {
	_, err := c.Read(context.Background(), "Patient", "1")
	return err
}

func TestNextLinkToAnotherHostIsRefused(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		writeJSON(w, 200, searchset(nil, "", match("Patient", "stolen")))
	}))
	defer foreign.Close()
	for name, next := range map[string]string{
		"other host":      foreign.URL + "/fhir/r4/Patient?page=2",
		"other scheme":    "https://" + strings.TrimPrefix(foreign.URL, "http://") + "/Patient",
		"scheme-relative": "//" + strings.TrimPrefix(foreign.URL, "http://") + "/Patient",
	} {
		t.Run(name, func(t *testing.T) {
			_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, searchset(map[string]string{"next": next}, "", match("Patient", "1")))
			})
			res, err := c.Search(context.Background(), "Patient", nil)
			if !errors.Is(err, ErrPaging) {
				t.Errorf("error = %v, want ErrPaging", err)
			}
			if len(res.Matches) != 1 {
				t.Errorf("partial result lost: %+v", res)
			}
		})
	}
	if foreignHits.Load() != 0 {
		t.Errorf("the foreign host got %d requests", foreignHits.Load())
	}
}

func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignHits.Add(1)
		writeJSON(w, 200, `{"resourceType":"Patient","id":"1"}`)
	}))
	defer foreign.Close()
	_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, foreign.URL+r.URL.Path, http.StatusFound)
	})
	if _, err := c.Read(context.Background(), "Patient", "1"); err == nil || foreignHits.Load() != 0 {
		t.Errorf("err = %v, foreign hits %d", err, foreignHits.Load())
	}
}

func TestPagingLoopAndPageLimit(t *testing.T) {
	t.Run("loop", func(t *testing.T) {
		_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
			next := "Patient?page=2"
			if r.URL.Query().Get("page") == "2" {
				next = "Patient?page=1"
			}
			if r.URL.Query().Get("page") == "1" {
				next = "Patient?page=2" // back to page 2
			}
			writeJSON(w, 200, searchset(map[string]string{"next": next}, "", match("Patient", "x"+r.URL.Query().Get("page"))))
		})
		res, err := c.Search(context.Background(), "Patient", nil)
		if !errors.Is(err, ErrPaging) || res.Pages != 3 {
			t.Errorf("err = %v after %d pages", err, res.Pages)
		}
	})
	t.Run("self loop", func(t *testing.T) {
		_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, searchset(map[string]string{"next": "http://" + r.Host + r.URL.String()}, "", match("Patient", "1")))
		})
		if _, err := c.Search(context.Background(), "Patient", url.Values{"name": {"a"}}); !errors.Is(err, ErrPaging) {
			t.Errorf("err = %v, want ErrPaging", err)
		}
	})
	t.Run("limit", func(t *testing.T) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, searchset(map[string]string{"next": fmt.Sprintf("Patient?page=%d", n.Add(1))}, "", match("Patient", "1")))
		}))
		defer srv.Close()
		c, _ := NewClient(srv.URL, WithMaxPages(3))
		res, err := c.Search(context.Background(), "Patient", nil)
		if !errors.Is(err, ErrPaging) || res.Pages != 3 || n.Load() != 3 {
			t.Errorf("err = %v, pages %d, requests %d", err, res.Pages, n.Load())
		}
	})
}

// deadlineRecorder is a transport that records the deadline of each request.
type deadlineRecorder struct {
	deadlines []time.Time
	has       []bool
}

func (d *deadlineRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, ok := r.Context().Deadline()
	d.deadlines, d.has = append(d.deadlines, dl), append(d.has, ok)
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {ContentType}},
		Body:       io.NopCloser(strings.NewReader(`{"resourceType":"Patient","id":"1"}`)),
		Request:    r,
	}, nil
}

func TestDeadlines(t *testing.T) {
	t.Run("default applied", func(t *testing.T) {
		rec := &deadlineRecorder{}
		c, _ := NewClient("https://ehr.example/fhir", WithHTTPClient(&http.Client{Transport: rec}), WithTimeout(time.Hour))
		before := time.Now()
		if _, err := c.Read(context.Background(), "Patient", "1"); err != nil {
			t.Fatal(err)
		}
		if !rec.has[0] || rec.deadlines[0].Before(before.Add(time.Hour)) || rec.deadlines[0].After(time.Now().Add(time.Hour)) {
			t.Errorf("deadline %v (set %v), want about an hour from now", rec.deadlines[0], rec.has[0])
		}
	})
	t.Run("caller's kept", func(t *testing.T) {
		rec := &deadlineRecorder{}
		c, _ := NewClient("https://ehr.example/fhir", WithHTTPClient(&http.Client{Transport: rec}))
		want := time.Now().Add(time.Minute)
		ctx, cancel := context.WithDeadline(context.Background(), want)
		defer cancel()
		if _, err := c.Read(ctx, "Patient", "1"); err != nil {
			t.Fatal(err)
		}
		if !rec.deadlines[0].Equal(want) {
			t.Errorf("deadline %v, want %v", rec.deadlines[0], want)
		}
	})
	t.Run("expires", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		c, _ := NewClient(srv.URL, WithTimeout(20*time.Millisecond))
		if _, err := c.Search(context.Background(), "Patient", nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want DeadlineExceeded", err)
		}
	})
}

func TestReplySizeCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"resourceType":"Patient","id":"1","text":{"div":"`+strings.Repeat("x", 2000)+`"}}`)
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, WithMaxResponseBytes(1000))
	if _, err := c.Read(context.Background(), "Patient", "1"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
}

func TestReadCreateUpdate(t *testing.T) {
	modified := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/fhir/r4/Patient/p1":
			if r.Header.Get("If-None-Match") == `W/"2"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			if got := r.Header.Get("If-Modified-Since"); got != "" && got != "Sat, 31 Oct 2026 22:00:00 GMT" {
				t.Errorf("If-Modified-Since = %q", got)
			}
			w.Header().Set("ETag", `W/"2"`)
			w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
			writeJSON(w, 200, `{"resourceType":"Patient","id":"p1"}`)
		case r.Method == "POST" && r.URL.Path == "/fhir/r4/Communication":
			body, _ := io.ReadAll(r.Body)
			if r.Header.Get("Content-Type") != ContentType || r.Header.Get("If-None-Exist") != "identifier=x|1" || !json.Valid(body) {
				t.Errorf("create: headers %v body %s", r.Header, body)
			}
			w.Header().Set("Location", "Communication/c9/_history/1")
			w.WriteHeader(http.StatusCreated)
		case r.Method == "PUT" && r.URL.Path == "/fhir/r4/Appointment/a1":
			if r.Header.Get("If-Match") != `W/"4"` {
				writeJSON(w, 412, string(NewOutcome(SeverityError, "conflict", "version mismatch")))
				return
			}
			w.Header().Set("ETag", `W/"5"`)
			writeJSON(w, 200, `{"resourceType":"Appointment","id":"a1"}`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
	})
	ctx := context.Background()

	resp, err := c.Read(ctx, "Patient", "p1", IfModifiedSince(time.Date(2026, 11, 1, 0, 0, 0, 0, time.FixedZone("", 2*3600))))
	if err != nil || resp.ETag != `W/"2"` || !resp.LastModified.Equal(modified) || resp.Status != 200 {
		t.Fatalf("read = %+v, %v", resp, err)
	}
	resp, err = c.Read(ctx, "Patient", "p1", IfNoneMatch(`W/"2"`))
	if err != nil || resp.Status != http.StatusNotModified || resp.Body != nil {
		t.Errorf("conditional read = %+v, %v", resp, err)
	}

	resp, err = c.Create(ctx, "Communication", json.RawMessage(`{"resourceType":"Communication","status":"completed"}`), IfNoneExist("identifier=x|1"))
	if err != nil || resp.Status != http.StatusCreated || resp.Location != "Communication/c9/_history/1" || resp.Body != nil {
		t.Errorf("create = %+v, %v", resp, err)
	}

	appt := json.RawMessage(`{"resourceType":"Appointment","id":"a1","status":"booked"}`)
	if _, err := c.Update(ctx, "Appointment", "a1", appt, IfMatch(`W/"3"`)); !errors.Is(err, ErrConflict) {
		t.Errorf("stale update error = %v, want ErrConflict", err)
	}
	if resp, err := c.Update(ctx, "Appointment", "a1", appt, IfMatch(`W/"4"`)); err != nil || resp.ETag != `W/"5"` {
		t.Errorf("update = %+v, %v", resp, err)
	}
}

func TestRequestsRefusedBeforeSending(t *testing.T) {
	rec := &deadlineRecorder{}
	c, _ := NewClient("https://ehr.example/fhir", WithHTTPClient(&http.Client{Transport: rec}))
	ctx := context.Background()
	calls := map[string]func() error{
		"read bad id":     func() error { _, err := c.Read(ctx, "Patient", "../Observation/1"); return err },
		"read bad type":   func() error { _, err := c.Read(ctx, "patient", "1"); return err },
		"search bad type": func() error { _, err := c.Search(ctx, "Patient/1", nil); return err },
		"create wrong type": func() error {
			_, err := c.Create(ctx, "Patient", json.RawMessage(`{"resourceType":"Observation"}`))
			return err
		},
		"create not json": func() error { _, err := c.Create(ctx, "Patient", json.RawMessage(`nope`)); return err },
		"update id differs": func() error {
			_, err := c.Update(ctx, "Patient", "1", json.RawMessage(`{"resourceType":"Patient","id":"2"}`))
			return err
		},
		"update bad id": func() error {
			_, err := c.Update(ctx, "Patient", "", json.RawMessage(`{"resourceType":"Patient"}`))
			return err
		},
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if len(rec.has) != 0 {
		t.Errorf("%d requests were sent", len(rec.has))
	}
}

func TestNewClient(t *testing.T) {
	for _, bad := range []string{"", "ehr.example/fhir", "ftp://ehr.example", "https://", "https://ehr.example/fhir?x=1", "https://user:pw@ehr.example/fhir", "http://[::1"} {
		if _, err := NewClient(bad); err == nil {
			t.Errorf("NewClient(%q) = nil error", bad)
		}
		if _, err := NewClient(bad); err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("NewClient error leaks the password: %v", err)
		}
	}
	c, err := NewClient("https://ehr.example/fhir/r4///")
	if err != nil || c.BaseURL() != "https://ehr.example/fhir/r4" {
		t.Errorf("BaseURL = %q, %v", c.BaseURL(), err)
	}
}

func TestCapabilities(t *testing.T) {
	_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/fhir/r4/metadata" {
			t.Errorf("path %s", r.URL.Path)
		}
		writeJSON(w, 200, `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","format":["json"],
		"rest":[{"mode":"server","security":{"extension":[{"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
		  "extension":[{"url":"authorize","valueUri":"https://auth/authorize"},{"url":"token","valueUri":"https://auth/token"}]}]},
		 "resource":[{"type":"Observation","interaction":[{"code":"read"},{"code":"search-type"}],
		   "searchParam":[{"name":"patient","type":"reference"},{"name":"category","type":"token"}]},
		  {"type":"Patient","interaction":[{"code":"read"}],"operation":[{"name":"everything"}]}]},
		 {"mode":"client","resource":[{"type":"Basic","interaction":[{"code":"create"}]}]}]}`)
	})
	caps, err := c.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{
		"fhirVersion":            caps.FHIRVersion == "4.0.1",
		"oauth uris":             caps.AuthorizeURL == "https://auth/authorize" && caps.TokenURL == "https://auth/token",
		"observation search":     caps.Supports("Observation", "search-type"),
		"no observation create":  !caps.Supports("Observation", "create"),
		"patient param":          caps.SearchParam("Observation", "patient"),
		"no code param":          !caps.SearchParam("Observation", "code"),
		"everything":             caps.Operation("Patient", "$everything") && caps.Operation("Patient", "everything"),
		"client mode ignored":    !caps.Supports("Basic", "create"),
		"raw kept":               json.Valid(caps.Raw),
		"unknown type supported": !caps.Supports("Nope", "read"),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: failed", name)
		}
	}
}

// TestRequestErrorsHideTheQuery checks that a request that gets no reply
// fails with an error naming the method and the URL without its query, which
// names the patient, while its cause stays reachable.
func TestRequestErrorsHideTheQuery(t *testing.T) {
	const secret = "secret-id"
	stalled := func(t *testing.T) string {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		return srv.URL
	}
	cases := []struct {
		name        string
		client      func(t *testing.T) *Client
		wantTimeout bool
		wantCause   error
	}{
		{
			name: "connection refused",
			client: func(t *testing.T) *Client {
				srv := httptest.NewServer(http.NotFoundHandler())
				srv.Close() // nothing listens there any more
				c, _ := NewClient(srv.URL + "/fhir/r4")
				return c
			},
		},
		{
			name: "context deadline",
			client: func(t *testing.T) *Client {
				c, _ := NewClient(stalled(t)+"/fhir/r4", WithTimeout(20*time.Millisecond))
				return c
			},
			wantTimeout: true,
			wantCause:   context.DeadlineExceeded,
		},
		{
			name: "HTTP client timeout",
			client: func(t *testing.T) *Client {
				c, _ := NewClient(stalled(t)+"/fhir/r4", WithHTTPClient(&http.Client{Timeout: 20 * time.Millisecond}))
				return c
			},
			wantTimeout: true,
		},
		{
			name: "refused redirect",
			client: func(t *testing.T) *Client {
				foreign := httptest.NewServer(http.NotFoundHandler())
				t.Cleanup(foreign.Close)
				_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, foreign.URL+r.URL.RequestURI(), http.StatusFound)
				})
				return c
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client(t)
			_, err := c.Search(context.Background(), "Observation", url.Values{"patient": {secret}})
			if err == nil {
				t.Fatal("the search succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, "?") {
				t.Errorf("the error quotes the query: %s", msg)
			}
			if !strings.Contains(msg, "GET ") || !strings.Contains(msg, "/fhir/r4/Observation") {
				t.Errorf("the error does not name the request: %s", msg)
			}
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Fatalf("%v: no *url.Error inside", err)
			}
			if ue.Timeout() != tc.wantTimeout {
				t.Errorf("Timeout() = %v, want %v: %v", ue.Timeout(), tc.wantTimeout, err)
			}
			if tc.wantCause != nil && !errors.Is(err, tc.wantCause) {
				t.Errorf("err = %v, want it to wrap %v", err, tc.wantCause)
			}
		})
	}
}

// TestErrorRepliesKeepNoQuery checks that an error reply's *Error holds the
// URL without the query, so that no field of it names the patient.
func TestErrorRepliesKeepNoQuery(t *testing.T) {
	_, c := fhirServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusInternalServerError, `{}`)
	})
	_, err := c.Search(context.Background(), "Observation", url.Values{"patient": {"secret-id"}})
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	if fe.URL != c.BaseURL()+"/Observation" {
		t.Errorf("URL = %q, want the search's URL without its query", fe.URL)
	}
}
