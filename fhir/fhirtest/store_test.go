package fhirtest

import "testing"

func TestSetIDAndMeta(t *testing.T) {
	const stamp = `"versionId":"2","lastUpdated":"2026-11-22T09:00:00.000Z"`
	tests := []struct{ name, in, want string }{
		{
			"adds id and meta after resourceType",
			`{"resourceType":"Patient","name":[{"family":"A"}]}`,
			`{"resourceType":"Patient","id":"p1","meta":{` + stamp + `},"name":[{"family":"A"}]}`,
		},
		{
			"keeps the rest of meta",
			`{"resourceType":"Patient","id":"old","meta":{"versionId":"1","profile":["x"],"tag":[{"code":"t"}],"source":"s"},"active":true}`,
			`{"resourceType":"Patient","id":"p1","meta":{"versionId":"2","lastUpdated":"2026-11-22T09:00:00.000Z","profile":["x"],"tag":[{"code":"t"}],"source":"s"},"active":true}`,
		},
		{
			"replaces a null meta",
			`{"resourceType":"Patient","meta":null,"id":"old"}`,
			`{"resourceType":"Patient","meta":{` + stamp + `},"id":"p1"}`,
		},
		{
			"leaves one id",
			`{"resourceType":"Patient","id":"a","\u0069d":"b","meta":{}}`,
			`{"resourceType":"Patient","id":"p1","meta":{` + stamp + `}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := setIDAndMeta([]byte(tt.in), "p1", "2", "2026-11-22T09:00:00.000Z")
			if err != nil || string(got) != tt.want {
				t.Fatalf("setIDAndMeta(%s) =\n%s, %v; want\n%s", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"resourceType":"Patient","meta":[]}`, `{"resourceType":"Patient"`} {
		if got, err := setIDAndMeta([]byte(bad), "p1", "2", "x"); err == nil {
			t.Errorf("setIDAndMeta(%s) = %s, want an error", bad, got)
		}
	}
}
