package fhir_test

import (
	"encoding/json"
	"fmt"

	"github.com/portalgate/portalgate/fhir"
)

// A gateway passing an upstream resource on marks where it came from: it
// sets meta.source and adds a tag to those already there, leaving the rest
// of the resource as the upstream wrote it.
func ExampleEditMeta() {
	upstream := []byte(`{"resourceType":"Observation","id":"o1","meta":{"versionId":"7","tag":[{"code":"x","userSelected":true}]},"status":"final"}`)
	source := fhir.Member{Key: "source", Value: json.RawMessage(`"https://ehr.example/fhir"`)}
	tag, err := json.Marshal(fhir.Coding{System: "https://portalgate.example/source", Code: "ehr-1"})
	if err != nil {
		fmt.Println(err)
		return
	}

	tagged, err := fhir.EditMeta(upstream, func(meta json.RawMessage) (json.RawMessage, error) {
		var m struct {
			Tag []json.RawMessage `json:"tag"`
		}
		if err := json.Unmarshal(meta, &m); err != nil {
			return nil, err
		}
		tags, err := json.Marshal(append(m.Tag, tag))
		if err != nil {
			return nil, err
		}
		return fhir.SetMembers(meta, source, fhir.Member{Key: "tag", Value: tags})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(tagged))
	// Output:
	// {"resourceType":"Observation","id":"o1","meta":{"versionId":"7","source":"https://ehr.example/fhir","tag":[{"code":"x","userSelected":true},{"system":"https://portalgate.example/source","code":"ehr-1"}]},"status":"final"}
}

func ExampleSetMembers() {
	patient := []byte(`{"resourceType": "Patient", "active": true}`)
	withID, err := fhir.SetMembers(patient, fhir.Member{Key: "id", Value: json.RawMessage(`"p1"`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(withID))
	// Output: {"resourceType": "Patient","id":"p1", "active": true}
}
