// Command loadtest measures a running sandbox against the performance targets of the
// aggregated record (DESIGN §11), over HTTP as clients see it:
//
//   - cached: an authenticated FHIR search of a page of 20 laboratory results that the
//     gateway's cache holds (session, access decision, audit and release rules all on),
//     under concurrent load, next to a plain reverse proxy (net/http/httputil) in front of
//     one of the simulated EHRs, answering the same search, in the same run;
//   - aggregated: the same search at three orgs, each made 50 ms slow with the sandbox's
//     fault knobs, never from the cache, against the slowest org searched alone;
//   - slow-org: one org 300 ms slow, the others not: the search takes about as long as
//     that org, not the sum.
//
// Start the sandbox first (scripts/load.sh does both):
//
//	go run ./cmd/portalgate sandbox --addr 127.0.0.1:8080
//	go run ./tools/loadtest -base http://127.0.0.1:8080
//
// It signs in as a sandbox person through the sandbox's identity provider, like a browser,
// and uses the session as a Bearer token, as the mobile app does. Faults it sets are reset
// when it ends.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/html"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type config struct {
	base        string
	username    string
	duration    time.Duration
	concurrency int
	samples     int
	scenarios   []string
}

func run() error {
	var cfg config
	var scenarios string
	flag.StringVar(&cfg.base, "base", "http://127.0.0.1:8080", "the sandbox's base URL")
	flag.StringVar(&cfg.username, "user", "alex", "the sandbox person to sign in as (records at three orgs)")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each throughput run lasts")
	flag.IntVar(&cfg.concurrency, "concurrency", 32, "concurrent clients of the throughput runs")
	flag.IntVar(&cfg.samples, "samples", 40, "requests per latency measurement")
	flag.StringVar(&scenarios, "scenarios", "cached,aggregated,slow-org", "comma-separated: cached, aggregated, slow-org")
	flag.Parse()
	cfg.scenarios = strings.Split(scenarios, ",")

	sb, err := connect(cfg)
	if err != nil {
		return err
	}
	defer sb.resetFaults()
	fmt.Printf("sandbox %s, signed in as %s (person %s), records at %s\n\n",
		cfg.base, cfg.username, sb.person.ID, strings.Join(sb.orgIDs(), ", "))
	for _, s := range cfg.scenarios {
		var err error
		switch strings.TrimSpace(s) {
		case "cached":
			err = sb.cached(cfg)
		case "aggregated":
			err = sb.aggregated(cfg)
		case "slow-org":
			err = sb.slowOrg(cfg)
		default:
			err = fmt.Errorf("unknown scenario %q", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// index is what the tool reads of GET /sandbox.
type index struct {
	Networks []struct {
		ID    string `json:"id"`
		Login string `json:"login"`
		Orgs  []org  `json:"orgs"`
	} `json:"networks"`
	People []person `json:"people"`
}

type org struct {
	ID         string            `json:"id"`
	Membership string            `json:"membership"`
	FHIRBase   string            `json:"fhirBase"`
	Faults     string            `json:"faults"`
	Token      string            `json:"token"`
	Patients   map[string]string `json:"patients"`
}

type person struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Password string `json:"password"`
	Records  []struct {
		Org     string `json:"org"`
		Patient string `json:"patient"`
	} `json:"records"`
}

// sandbox is a signed-in session at a running sandbox.
type sandbox struct {
	base    string
	network string
	client  *http.Client
	session string // the session token, sent as Bearer
	person  person
	orgs    []org // the person's records' orgs
}

func connect(cfg config) (*sandbox, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute,
	}}
	var idx index
	if err := getJSON(client, cfg.base+"/sandbox", "", &idx); err != nil {
		return nil, fmt.Errorf("reading the sandbox index (is the sandbox running at %s?): %w", cfg.base, err)
	}
	if len(idx.Networks) == 0 {
		return nil, errors.New("the sandbox lists no network")
	}
	nw := idx.Networks[0]
	sb := &sandbox{base: cfg.base, network: nw.ID, client: client}
	i := slices.IndexFunc(idx.People, func(p person) bool { return p.Username == cfg.username })
	if i < 0 {
		return nil, fmt.Errorf("no sandbox person with username %q", cfg.username)
	}
	sb.person = idx.People[i]
	for _, r := range sb.person.Records {
		for _, o := range nw.Orgs {
			if o.ID == r.Org && o.Membership == "affiliated" {
				sb.orgs = append(sb.orgs, o)
			}
		}
	}
	if len(sb.orgs) == 0 {
		return nil, fmt.Errorf("%s has no records at the network's orgs", cfg.username)
	}
	token, err := signIn(client, nw.Login, sb.person.Username, sb.person.Password)
	if err != nil {
		return nil, fmt.Errorf("signing in: %w", err)
	}
	sb.session = token
	return sb, nil
}

func (sb *sandbox) orgIDs() []string {
	var ids []string
	for _, o := range sb.orgs {
		ids = append(ids, o.ID)
	}
	return ids
}

// signIn runs the browser's sign-in and returns the session cookie's value.
func signIn(client *http.Client, loginURL, username, password string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	browser := &http.Client{Jar: jar, Transport: client.Transport, Timeout: client.Timeout}
	resp, err := browser.Get(loginURL)
	if err != nil {
		return "", err
	}
	action, fields, err := readForm(resp)
	if err != nil {
		return "", err
	}
	fields.Set("username", username)
	fields.Set("password", password)
	target, err := resp.Request.URL.Parse(action)
	if err != nil {
		return "", err
	}
	resp, err = browser.PostForm(target.String(), fields)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign-in ended with status %d", resp.StatusCode)
	}
	for _, c := range jar.Cookies(resp.Request.URL) {
		if c.Name == "portalgate_session" {
			return c.Value, nil
		}
	}
	return "", errors.New("no session cookie after signing in")
}

// readForm returns the action and the fields of the first form of a page.
func readForm(resp *http.Response) (string, url.Values, error) {
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		return "", nil, err
	}
	var action string
	fields := url.Values{}
	found := false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(name string) string {
				for _, a := range n.Attr {
					if a.Key == name {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "form":
				if found {
					return
				}
				found, action = true, attr("action")
			case "input":
				if name := attr("name"); name != "" {
					fields.Set(name, attr("value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !found {
		return "", nil, fmt.Errorf("no form on the sign-in page (status %d)", resp.StatusCode)
	}
	return action, fields, nil
}

func getJSON(client *http.Client, u, bearer string, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// setFaults sets an org's fault knobs; latency 0 resets them.
func (sb *sandbox) setFaults(o org, latencyMS int) error {
	method, body := http.MethodPut, fmt.Sprintf(`{"latencyMs":%d}`, latencyMS)
	if latencyMS == 0 {
		method, body = http.MethodDelete, ""
	}
	req, err := http.NewRequest(method, o.Faults, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := sb.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d", method, o.Faults, resp.StatusCode)
	}
	return nil
}

func (sb *sandbox) resetFaults() {
	for _, o := range sb.orgs {
		if err := sb.setFaults(o, 0); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest: resetting faults:", err)
		}
	}
}

// faceSearch is the FHIR face URL of the person's laboratory results, a page of 20; extra
// parameters make a search no earlier one has cached.
func (sb *sandbox) faceSearch(extra string) string {
	return fmt.Sprintf("%s/fhir/%s/Observation?patient=%s&category=laboratory&_count=20%s", sb.base, sb.network, sb.person.ID, extra)
}

// upstreamToken gets an EHR's own token for the person, as a standalone launch would.
func (sb *sandbox) upstreamToken(o org) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": sb.person.Username, "password": sb.person.Password})
	resp, err := sb.client.Post(o.Token, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("no token from %s (status %d)", o.Token, resp.StatusCode)
	}
	return tok.AccessToken, nil
}

// cached compares the gateway's cached, audited read with a plain reverse proxy.
func (sb *sandbox) cached(cfg config) error {
	target := sb.orgs[len(sb.orgs)-1]
	token, err := sb.upstreamToken(target)
	if err != nil {
		return err
	}
	proxyURL, stop, err := startProxy(target.FHIRBase, token)
	if err != nil {
		return err
	}
	defer stop()
	patient := target.Patients[sb.person.ID]
	proxied := fmt.Sprintf("%s/Observation?patient=%s&category=laboratory&_count=20", proxyURL, patient)
	face := sb.faceSearch("")
	// Warm: the first search fills the cache.
	if _, err := sb.once(face, sb.session); err != nil {
		return err
	}
	if _, err := sb.once(proxied, ""); err != nil {
		return err
	}
	fmt.Printf("cached read: %d clients for %s each, a page of 20 laboratory results\n", cfg.concurrency, cfg.duration)
	gw := sb.load(face, sb.session, cfg)
	px := sb.load(proxied, "", cfg)
	report("gateway, cached, authenticated, audited", gw)
	report("plain reverse proxy to "+target.ID, px)
	fmt.Printf("  gateway / proxy throughput: %.2f×  (targets: ≥ 5000 req/s, ≥ 3×)\n\n", gw.rate()/px.rate())
	if gw.failed > 0 || px.failed > 0 {
		return fmt.Errorf("%d gateway and %d proxy requests failed", gw.failed, px.failed)
	}
	return nil
}

// startProxy serves a reverse proxy to base that adds the upstream token, as a plain proxy
// in front of an EHR would.
func startProxy(base, token string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.URL.Path = strings.TrimSuffix(u.Path, "/") + strings.TrimPrefix(r.In.URL.Path, "/fhir")
			r.Out.Header.Set("Authorization", "Bearer "+token)
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 256},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/fhir", func() { srv.Shutdown(context.Background()) }, nil
}

// aggregated compares the uncached search at three 50 ms orgs with the slowest org alone.
func (sb *sandbox) aggregated(cfg config) error {
	for _, o := range sb.orgs {
		if err := sb.setFaults(o, 50); err != nil {
			return err
		}
	}
	defer sb.resetFaults()
	slowest, slowestOrg, err := sb.slowestUpstream(cfg)
	if err != nil {
		return err
	}
	took, err := sb.uncached(cfg, "agg")
	if err != nil {
		return err
	}
	fmt.Printf("aggregated read over %d orgs, each 50 ms away, nothing cached (%d searches, one at a time)\n", len(sb.orgs), cfg.samples)
	fmt.Printf("  slowest org alone (%s): p50 %s\n", slowestOrg, ms(slowest))
	fmt.Printf("  gateway: p50 %s  p90 %s\n", ms(percentile(took, 50)), ms(percentile(took, 90)))
	fmt.Printf("  p50 / slowest: %.2f  (target ≤ 1.2)\n\n", float64(percentile(took, 50))/float64(slowest))
	return nil
}

// slowOrg makes one org 300 ms slow and the others not.
func (sb *sandbox) slowOrg(cfg config) error {
	slow := sb.orgs[len(sb.orgs)/2]
	if err := sb.setFaults(slow, 300); err != nil {
		return err
	}
	defer sb.resetFaults()
	took, err := sb.uncached(cfg, "slow")
	if err != nil {
		return err
	}
	fmt.Printf("one org (%s) 300 ms away, the others not, nothing cached (%d searches)\n", slow.ID, cfg.samples)
	fmt.Printf("  gateway: p50 %s  p90 %s  (the sum would be ≥ %d ms per org asked in turn)\n\n",
		ms(percentile(took, 50)), ms(percentile(took, 90)), 300)
	return nil
}

// slowestUpstream searches each org alone, with its own token, and returns the largest p50.
func (sb *sandbox) slowestUpstream(cfg config) (time.Duration, string, error) {
	var slowest time.Duration
	var which string
	for _, o := range sb.orgs {
		token, err := sb.upstreamToken(o)
		if err != nil {
			return 0, "", err
		}
		u := fmt.Sprintf("%s/Observation?patient=%s&category=laboratory&_count=20", o.FHIRBase, o.Patients[sb.person.ID])
		var took []time.Duration
		for range cfg.samples {
			d, err := sb.once(u, token)
			if err != nil {
				return 0, "", err
			}
			took = append(took, d)
		}
		if p := percentile(took, 50); p > slowest {
			slowest, which = p, o.ID
		}
	}
	return slowest, which, nil
}

// uncached times face searches that no earlier search has cached: each asks for results
// from another date on (all of them, as the dates lie before anyone's birth).
func (sb *sandbox) uncached(cfg config, tag string) ([]time.Duration, error) {
	run := time.Now().UnixNano() % 1000
	var took []time.Duration
	for i := range cfg.samples {
		since := fmt.Sprintf("&date=ge1900-01-01T00:%02d:%02dZ", run%60, i%60)
		if tag == "slow" {
			since = fmt.Sprintf("&date=ge1901-01-01T00:%02d:%02dZ", run%60, i%60)
		}
		d, err := sb.once(sb.faceSearch(since), sb.session)
		if err != nil {
			return nil, err
		}
		took = append(took, d)
	}
	return took, nil
}

// once sends one GET and times it; anything but 200 is an error.
func (sb *sandbox) once(u, bearer string) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	start := time.Now()
	resp, err := sb.client.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d %.300s", u, resp.StatusCode, body)
	}
	return took, nil
}

// result is one throughput run.
type result struct {
	ok, failed int
	elapsed    time.Duration
	took       []time.Duration
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// load sends the same GET from cfg.concurrency clients for cfg.duration, each sending its
// next request when the last is answered.
func (sb *sandbox) load(u, bearer string, cfg config) result {
	var (
		mu  sync.Mutex
		res result
		wg  sync.WaitGroup
	)
	deadline := time.Now().Add(cfg.duration)
	start := time.Now()
	for range cfg.concurrency {
		wg.Go(func() {
			var took []time.Duration
			failed := 0
			for time.Now().Before(deadline) {
				d, err := sb.once(u, bearer)
				if err != nil {
					failed++
					continue
				}
				took = append(took, d)
			}
			mu.Lock()
			res.took = append(res.took, took...)
			res.ok += len(took)
			res.failed += failed
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func report(name string, r result) {
	fmt.Printf("  %-44s %8.0f req/s  p50 %s  p99 %s  failed %d\n", name, r.rate(),
		ms(percentile(r.took, 50)), ms(percentile(r.took, 99)), r.failed)
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
