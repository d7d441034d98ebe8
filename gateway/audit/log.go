package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/portalgate/portalgate/gateway/store"
)

// Storage is the part of the storage port the trail needs: appending to logs and reading
// them back. Any store.Store provides it.
type Storage interface {
	Append(ctx context.Context, log string, value []byte) (id string, err error)
	Range(ctx context.Context, log, after string, limit int) ([]store.Entry, error)
}

// Defaults of Options and Page.
const (
	// DefaultTimeout bounds the store work of one call.
	DefaultTimeout = 5 * time.Second
	// DefaultPageLimit is the page size when Page.Limit is 0.
	DefaultPageLimit = 50
	// MaxPageLimit caps Page.Limit.
	MaxPageLimit = 500
)

// Options configures a Log.
type Options struct {
	// Source names the gateway as the observer of every event: its host name, such as
	// "gateway.example.org". Required.
	Source string
	// Now is the clock that stamps events; nil means time.Now.
	Now func() time.Time
	// Timeout bounds the store work of each call; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Log writes and reads the audit trail. It is safe for concurrent use.
type Log struct {
	store   Storage
	source  string
	now     func() time.Time
	timeout time.Duration
}

// NewLog returns a Log on st.
func NewLog(st Storage, opts Options) (*Log, error) {
	if st == nil {
		return nil, invalidf("no storage")
	}
	if opts.Source == "" {
		return nil, invalidf("the source (the gateway's host name) is required")
	}
	if err := checkToken("source", opts.Source); err != nil {
		return nil, err
	}
	if opts.Timeout < 0 {
		return nil, invalidf("negative timeout")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Log{store: st, source: opts.Source, now: opts.Now, timeout: opts.Timeout}, nil
}

// Record writes e as AuditEvents, one per record touched (or one when none was), to the
// network's log and to the log of the person it concerns (Subject, else Person), and
// returns the AuditEvent ids in the order of e.Records.
//
// An error means the event may be recorded only in part; the caller must then refuse the
// access it was about to allow, since an access that cannot be audited must not happen.
// A malformed event is ErrInvalid, with nothing written.
func (l *Log) Record(ctx context.Context, e Event) ([]string, error) {
	e, err := e.normalize()
	if err != nil {
		return nil, err
	}
	events := build(e, l.now(), l.source)

	raws := make([][]byte, len(events))
	ids := make([]string, len(events))
	for i := range events {
		// MarshalJSON directly: json.Marshal would re-scan the bytes it returns.
		if raws[i], err = events[i].MarshalJSON(); err != nil {
			return nil, fmt.Errorf("audit: encoding a %s event: %w", e.Kind, err)
		}
		ids[i] = *events[i].Id
	}

	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	// The two logs are independent: write them side by side, each in order.
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := appendAll(ctx, l.store, networkLogName(e.Network), raws); err != nil {
			return fmt.Errorf("audit: recording a %s event in the network's log: %w", e.Kind, err)
		}
		return nil
	})
	if p := e.indexedPerson(); p != "" {
		g.Go(func() error {
			if err := appendAll(ctx, l.store, personLogName(e.Network, p), raws); err != nil {
				return fmt.Errorf("audit: recording a %s event in the person's log: %w", e.Kind, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return ids, nil
}

func appendAll(ctx context.Context, st Storage, log string, values [][]byte) error {
	for _, v := range values {
		if _, err := st.Append(ctx, log, v); err != nil {
			return err
		}
	}
	return nil
}

// Page asks for one page of a trail.
type Page struct {
	// After is the cursor returned with the previous page; "" starts from the oldest event.
	After string
	// Limit is the most events to return: 0 means DefaultPageLimit, and more than
	// MaxPageLimit is cut to it.
	Limit int
}

// Entry is one recorded event.
type Entry struct {
	// ID is the AuditEvent's id.
	ID string `json:"id"`
	// Resource is the AuditEvent as stored. It holds the actor's network address and
	// account: show a patient the Summary rather than this.
	Resource json.RawMessage `json:"resource"`
	// Summary is what the patient needs to read the event.
	Summary Summary `json:"summary"`
	// Details are for operators only; never show them to a patient.
	Details Details `json:"details"`
}

// ForPerson returns a page of the events that concern person: access to their records
// (by themselves, a proxy or an app), their sign-ins and codes, their consent changes.
// Events come oldest first; next is the cursor for the following page, "" after the last.
func (l *Log) ForPerson(ctx context.Context, network, person string, page Page) (entries []Entry, next string, err error) {
	if err := checkID("network", network); err != nil {
		return nil, "", err
	}
	if err := checkID("person", person); err != nil {
		return nil, "", err
	}
	return l.read(ctx, personLogName(network, person), page)
}

// Network returns a page of every event of network, for its operators, oldest first; next
// is the cursor for the following page, "" after the last.
func (l *Log) Network(ctx context.Context, network string, page Page) (entries []Entry, next string, err error) {
	if err := checkID("network", network); err != nil {
		return nil, "", err
	}
	return l.read(ctx, networkLogName(network), page)
}

func (l *Log) read(ctx context.Context, log string, page Page) ([]Entry, string, error) {
	limit := page.Limit
	switch {
	case limit < 0:
		return nil, "", invalidf("negative page limit")
	case limit == 0:
		limit = DefaultPageLimit
	case limit > MaxPageLimit:
		limit = MaxPageLimit
	}
	if err := checkToken("page cursor", page.After); err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	// One more than asked tells whether another page follows.
	got, err := l.store.Range(ctx, log, page.After, limit+1)
	if errors.Is(err, store.ErrInvalid) {
		return nil, "", invalidf("the page cursor is not one this trail returned")
	}
	if err != nil {
		return nil, "", fmt.Errorf("audit: reading the trail: %w", err)
	}
	var next string
	if len(got) > limit {
		got = got[:limit]
		next = got[limit-1].ID
	}
	entries := make([]Entry, len(got))
	for i, g := range got {
		id, summary, details, err := readEvent(g.Value)
		if err != nil {
			return nil, "", fmt.Errorf("audit: reading the trail: stored entry %d: %w", i, err)
		}
		entries[i] = Entry{ID: id, Resource: g.Value, Summary: summary, Details: details}
	}
	return entries, next, nil
}

// Log names. Network and person ids passed checkID, so '/' separates parts unambiguously.
func networkLogName(network string) string { return "audit/network/" + network }
func personLogName(network, person string) string {
	return "audit/person/" + network + "/" + person
}
