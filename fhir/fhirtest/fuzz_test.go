package fhirtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSearch sends arbitrary query strings to searches and to the paging
// endpoint: the server answers a searchset or an OperationOutcome, never panics.
func FuzzSearch(f *testing.F) {
	for _, seed := range []string{
		"patient=p1&category=laboratory",
		"date=ge2024-01-01&date=lt2024-02&_sort=-date&_count=2",
		"code=http://loinc.org|1234-5,|x&subject:Patient=p1",
		"name:contains=n%C3%BA&_include=Observation:patient&_revinclude=Provenance:target",
		"category:missing=true&_summary=count",
		"date=ap2024&_lastUpdated=gt2026-11-22T09:00:00Z",
		"_getpages=x&_getpagesoffset=1&_count=1",
		"patient=http://x.example/fhir/Patient/p1/_history/2",
		`code=a\,b&_id=p1,p2`,
	} {
		f.Add("Observation", seed)
	}
	srv, _ := newFixtureServer(f)
	f.Fuzz(func(t *testing.T, typ, query string) {
		for _, target := range []string{"/" + url.PathEscape(typ) + "?" + query, "/?" + query} {
			req, err := http.NewRequest(http.MethodGet, "http://example.com"+target, nil)
			if err != nil {
				return // not a request a client could send
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusGone:
			default:
				t.Fatalf("%s: status %d", target, rec.Code)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s: invalid JSON reply %q", target, rec.Body.String())
			}
		}
	})
}

// FuzzCreate posts arbitrary bodies: they are stored as valid resources or
// refused with 400/422.
func FuzzCreate(f *testing.F) {
	for _, seed := range []string{
		`{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Observation","meta":{"versionId":"9","tag":[{"code":"x"}]},"effectivePeriod":{"start":"2024"}}`,
		`{"resourceType":"Observation","id":"\u0041","meta":{}}`,
		`{"resourceType":"Observation","meta":null}`,
		`{"resourceType":"Observation","effectiveDateTime":"2024-02-30","category":[{"coding":[1]}]}`,
		`{"resourceType":"Observation"} trailing`,
		`[]`,
		``,
	} {
		f.Add(seed)
	}
	srv, _ := newFixtureServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		rec := do(t, srv, http.MethodPost, "/Observation", body)
		switch rec.Code {
		case http.StatusCreated:
			doc := map[string]any{}
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("stored an invalid resource: %v", err)
			}
			id, _ := doc["id"].(string)
			if doc["resourceType"] != "Observation" || !isID(id) {
				t.Fatalf("stored resource has type %v, id %v", doc["resourceType"], doc["id"])
			}
			wantStatus(t, get(t, srv, "/Observation/"+id), http.StatusOK)
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// FuzzSetIDAndMeta checks the member editor on arbitrary JSON objects: id and
// meta are set, every other member is kept as it was.
func FuzzSetIDAndMeta(f *testing.F) {
	for _, seed := range []string{
		`{"resourceType":"Patient","id":"old","meta":{"profile":["x"],"versionId":"3"},"name":[{"family":"A"}]}`,
		`{"resourceType":"Patient"}`,
		`{}`,
		`{"a":"\"}{","b":[{"c":"]"}],"resourceType":"X","\u0069d":1}`,
		`{"meta":{"lastUpdated":"x","k":{"x":[1,2,{"y":null}]}},"n":-1.5e3,"t":true}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var before map[string]any
		var compact bytes.Buffer
		if json.Unmarshal(raw, &before) != nil || json.Compact(&compact, raw) != nil {
			_, _ = setIDAndMeta(raw, "id1", "2", "2026-01-01T00:00:00.000Z") // must not panic
			return
		}
		if _, ok := before["meta"].(map[string]any); before == nil || (!ok && before["meta"] != nil) {
			return // buildRecord refuses null and a meta that is not an object
		}
		out, err := setIDAndMeta(compact.Bytes(), "id1", "2", "2026-01-01T00:00:00.000Z")
		if err != nil {
			t.Fatalf("setIDAndMeta(%s): %v", compact.Bytes(), err)
		}
		var after map[string]any
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("the edit made invalid JSON %s: %v", out, err)
		}
		meta := after["meta"].(map[string]any)
		if after["id"] != "id1" || meta["versionId"] != "2" || meta["lastUpdated"] != "2026-01-01T00:00:00.000Z" {
			t.Fatalf("id %v, meta %v", after["id"], meta)
		}
		for k, v := range before {
			if k == "id" {
				continue
			}
			if k == "meta" {
				for mk, mv := range v.(map[string]any) {
					if mk != "versionId" && mk != "lastUpdated" && !jsonEqual(mv, meta[mk]) {
						t.Fatalf("meta.%s changed from %v to %v", mk, mv, meta[mk])
					}
				}
				continue
			}
			if !jsonEqual(v, after[k]) {
				t.Fatalf("member %q changed from %v to %v", k, v, after[k])
			}
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// FuzzScope reads arbitrary scopes as a token might carry them.
func FuzzScope(f *testing.F) {
	for _, seed := range []string{labScope, "patient/*.read", "user/Observation.cruds?code=1,2&date=ge2020", "system/X.s?%", "openid"} {
		f.Add(seed)
	}
	srv, _ := newFixtureServer(f)
	f.Fuzz(func(t *testing.T, scope string) {
		g := newGrant(Access{Patient: "p1", Scopes: strings.Fields(scope)})
		srv.store.mu.RLock()
		recs := mapValues(srv.store.types["Observation"].byID)
		srv.store.mu.RUnlock()
		rule := g.rule("Observation", opSearch)
		for _, rec := range recs {
			_ = rule.permits(rec) && g.canRead(rec)
		}
	})
}
