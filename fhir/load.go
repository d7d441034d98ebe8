package fhir

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrBadBundle is wrapped by LoadBundle and LoadNDJSON errors about content
// that cannot be loaded (as opposed to read failures).
var ErrBadBundle = errors.New("fhir: cannot load bundle")

// maxNDJSONLine caps one NDJSON line, so a stream without newlines cannot
// exhaust memory.
const maxNDJSONLine = 64 << 20

// LoadBundle turns a transaction, batch or collection Bundle into the
// resources it creates, ready to store: entries that are PUT keep the id of
// their request URL; entries POSTed (or without request) keep their own id or,
// when they have none, get an id derived from their fullUrl (the uuid of a
// "urn:uuid:" fullUrl). Every "urn:uuid:" reference inside the bundle is
// rewritten to "Type/id". Apart from ids and references the resources are
// left byte for byte as they were.
//
// Searchset and document bundles load too (their outcome entries are left
// out). Entries without a resource (DELETE, GET) are skipped. Only the
// values of "reference" elements are rewritten: an identifier whose value
// happens to be a urn:uuid is data, not a link. A urn:uuid reference that no
// entry's fullUrl names, or two entries with the same Type/id, is an error
// wrapping ErrBadBundle. A resource with neither an id nor a usable fullUrl
// gets a random uuid, as a server would assign.
func LoadBundle(data []byte) ([]json.RawMessage, error) {
	b, err := ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBundle, err)
	}
	switch b.Type {
	case BundleTransaction, BundleBatch, BundleCollection, BundleSearchset, BundleDocument:
	default:
		return nil, fmt.Errorf("%w: bundle type %q holds no resources to load", ErrBadBundle, b.Type)
	}
	l := newLoader()
	l.validated = true // ParseBundle checked the whole document
	for i, e := range b.Entry {
		if skipEntry(e) {
			continue
		}
		target, err := putTarget(e)
		if err == nil {
			err = l.add(e.Resource, target, e.FullURL)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrBadBundle, i, err)
		}
	}
	return l.finish()
}

// LoadNDJSON reads one resource per line (bulk-data NDJSON), skipping blank
// lines, with the same urn:uuid rewriting across the whole stream: a
// reference "urn:uuid:X" points at the resource whose id is X.
func LoadNDJSON(r io.Reader) ([]json.RawMessage, error) {
	l := newLoader()
	br := bufio.NewReaderSize(r, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			if addErr := l.add(line, Reference{}, ""); addErr != nil {
				return nil, fmt.Errorf("%w: line %d: %w", ErrBadBundle, lineNo, addErr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("fhir: reading NDJSON line %d: %w", lineNo, err)
		}
	}
	return l.finish()
}

// readLine returns the next line without its end of line, io.EOF with the
// last line.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxNDJSONLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxNDJSONLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

func skipEntry(e BundleEntry) bool {
	if len(bytes.TrimSpace(e.Resource)) == 0 || bytes.Equal(bytes.TrimSpace(e.Resource), []byte("null")) {
		return true
	}
	if e.Request != nil {
		switch strings.ToUpper(e.Request.Method) {
		case "DELETE", "GET", "HEAD":
			return true
		}
	}
	return e.Search != nil && e.Search.Mode == "outcome"
}

// putTarget returns the Type/id a PUT entry's request URL names ("Patient/1",
// also absolute or versioned), or a zero Reference for any other entry and
// for a conditional update ("Patient?identifier=…").
func putTarget(e BundleEntry) (Reference, error) {
	if e.Request == nil || !strings.EqualFold(e.Request.Method, "PUT") || strings.Contains(e.Request.URL, "?") {
		return Reference{}, nil
	}
	ref, err := ParseReference(e.Request.URL, "")
	if err != nil || ref.Type == "" {
		return Reference{}, fmt.Errorf("PUT url %q does not name Type/id", e.Request.URL)
	}
	return ref, nil
}

// loader collects resources, their ids and the aliases ("urn:uuid:…") that
// references may use for them, then rewrites the references.
type loader struct {
	resources []json.RawMessage
	types     []string
	ids       []string
	seen      map[string]bool   // "Type/id"
	alias     map[string]string // fullUrl or urn:uuid:id → "Type/id"
	// validated says the resources come from a document already checked
	// to be valid JSON.
	validated bool
}

func newLoader() *loader {
	return &loader{seen: map[string]bool{}, alias: map[string]string{}}
}

// add records one resource. put, when set, names the resource's type and
// overrides its own id.
func (l *loader) add(raw []byte, put Reference, fullURL string) error {
	if !l.validated && !json.Valid(raw) {
		return errors.New("resource is not valid JSON")
	}
	// Only the top level is read: decoding the whole resource for two
	// strings would dominate the load.
	top, err := topLevelStrings(raw, "resourceType", "id")
	if err != nil {
		return fmt.Errorf("reading the resource: %w", err)
	}
	h := Header{ResourceType: top["resourceType"], ID: top["id"]}
	if !isResourceType(h.ResourceType) {
		return fmt.Errorf("resourceType %q is not a resource type", h.ResourceType)
	}
	if put.Type != "" && put.Type != h.ResourceType {
		return fmt.Errorf("PUT to %s carries a %s", put, h.ResourceType)
	}
	id := put.ID
	if id == "" {
		id = h.ID
	}
	if id == "" {
		id = idFromFullURL(fullURL, h.ResourceType)
	}
	if id == "" {
		id = randomUUID()
	}
	if !isID(id) {
		return fmt.Errorf("%s id %q is not a valid FHIR id", h.ResourceType, id)
	}
	ref := h.ResourceType + "/" + id
	if l.seen[ref] {
		return fmt.Errorf("%s appears twice", ref)
	}
	l.seen[ref] = true
	if id != h.ID {
		if raw, err = SetMembers(raw, Member{Key: "id", Value: appendQuoted(nil, id)}); err != nil {
			return fmt.Errorf("setting the id of %s: %w", ref, err)
		}
	}
	if strings.HasPrefix(fullURL, "urn:") {
		l.alias[fullURL] = ref
	} else if fullURL == "" {
		// NDJSON and fullUrl-less entries: a urn:uuid reference names the id.
		l.alias["urn:uuid:"+id] = ref
	}
	l.resources = append(l.resources, raw)
	l.types = append(l.types, h.ResourceType)
	l.ids = append(l.ids, id)
	return nil
}

// idFromFullURL derives an id from "urn:uuid:X" or from a URL ending in Type/id.
func idFromFullURL(fullURL, typ string) string {
	if id, ok := strings.CutPrefix(fullURL, "urn:uuid:"); ok {
		return id
	}
	if ref, err := ParseReference(fullURL, ""); err == nil && ref.URL != "" && ref.Type == typ {
		return ref.ID
	}
	return ""
}

// finish rewrites every urn reference and returns the resources.
func (l *loader) finish() ([]json.RawMessage, error) {
	for i, raw := range l.resources {
		if !bytes.Contains(raw, []byte(`"urn:`)) {
			continue
		}
		var unresolved string
		out, err := replaceStrings(raw, "reference", func(value string) (string, bool) {
			target, ok := l.alias[value]
			if !ok && strings.HasPrefix(value, "urn:uuid:") && unresolved == "" {
				unresolved = value
			}
			return target, ok
		})
		if err != nil {
			return nil, fmt.Errorf("%w: %s/%s: %w", ErrBadBundle, l.types[i], l.ids[i], err)
		}
		if unresolved != "" {
			return nil, fmt.Errorf("%w: %s/%s refers to %s, which no entry of the bundle is", ErrBadBundle, l.types[i], l.ids[i], unresolved)
		}
		l.resources[i] = out
	}
	return l.resources, nil
}

// randomUUID returns a version 4 UUID.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
