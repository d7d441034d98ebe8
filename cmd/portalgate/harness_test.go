package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/portalgate/portalgate/gateway"
	"github.com/portalgate/portalgate/gateway/audit"
)

// browser is a scripted browser: a cookie jar that follows redirects, and
// posts sign-in forms the way a person would.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{Jar: jar}}
}

// signIn starts at loginURL, fills the first form it is shown with the
// credentials and returns the page it lands on after the redirects.
func (b *browser) signIn(loginURL, username, password string) *http.Response {
	b.t.Helper()
	resp, err := b.client.Get(loginURL)
	if err != nil {
		b.t.Fatalf("GET %s: %v", loginURL, err)
	}
	action, fields := readForm(b.t, resp)
	fields.Set("username", username)
	fields.Set("password", password)
	target, err := resp.Request.URL.Parse(action)
	if err != nil {
		b.t.Fatal(err)
	}
	resp, err = b.client.PostForm(target.String(), fields)
	if err != nil {
		b.t.Fatalf("posting the sign-in form: %v", err)
	}
	return resp
}

// do sends a request with the browser's cookies; a non-nil body is JSON;
// header holds name, value pairs. Like a non-browser client it sends no
// Origin unless header names one.
func (b *browser) do(method, url string, body any, header ...string) (int, []byte, http.Header) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

// getJSON GETs url into v and returns the status.
func (b *browser) getJSON(url string, v any) int {
	b.t.Helper()
	status, raw, _ := b.do(http.MethodGet, url, nil)
	if status == http.StatusOK && v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			b.t.Fatalf("GET %s: %v in %s", url, err, raw)
		}
	}
	return status
}

// readForm reads the first form of an HTML page: its action and inputs.
func readForm(t *testing.T, resp *http.Response) (string, url.Values) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("expected a sign-in page, got %d %s: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	action, fields := "", url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			switch {
			case n.Data == "form" && action == "":
				action = attr["action"]
			case n.Data == "input" && attr["name"] != "":
				fields.Set(attr["name"], attr["value"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if action == "" {
		t.Fatal("the sign-in page has no form")
	}
	return action, fields
}

// auditEntries reads every page of the audit log at logURL.
func auditEntries(t *testing.T, b *browser, logURL string, header ...string) []audit.Summary {
	t.Helper()
	var entries []audit.Summary
	after := ""
	for {
		var view gateway.AuditView
		status, raw, _ := b.do(http.MethodGet, logURL+"?limit=100&after="+url.QueryEscape(after), nil, header...)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", logURL, status, raw)
		}
		if err := json.Unmarshal(raw, &view); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, view.Entries...)
		if view.Next == "" {
			return entries
		}
		after = view.Next
	}
}

// countKinds counts entries by kind; a non-empty actor counts only that
// person's own actions.
func countKinds(entries []audit.Summary, actor string) map[audit.Kind]int {
	kinds := map[audit.Kind]int{}
	for _, e := range entries {
		if actor == "" || e.Actor == actor {
			kinds[e.Kind]++
		}
	}
	return kinds
}
