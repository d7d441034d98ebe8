package adapters

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/portalgate/portalgate/fhir"
)

// Searcher runs one search upstream and follows all its pages. The Searcher
// an adapter hands to Quirks applies the platform data's rules first:
// _count is capped at Platform.Search.MaxCount, and a search the data says
// the platform refuses fails with ErrUnsupportedSearch before it leaves the
// gateway. It does not change the params it is given.
type Searcher func(ctx context.Context, typ string, params url.Values) (*fhir.SearchResult, error)

// Quirks is the code of a platform, for what its data file cannot say.
type Quirks interface {
	// Search answers a search of typ on the platform, sending every
	// upstream search through next. params is the quirks' own copy, theirs
	// to change. On error the result is nil.
	Search(ctx context.Context, platform fhir.Platform, typ string, params url.Values, next Searcher) (*fhir.SearchResult, error)
}

var registry = struct {
	sync.RWMutex
	quirks map[string]Quirks
}{quirks: map[string]Quirks{}}

// Register makes q the code of every platform whose data names the adapter
// name (fhir.Platform.AdapterName). Platform packages call it from init, as
// database/sql drivers do, rather than export a value for the program to
// register: platform files name their adapter as a string read at run time,
// so the code of every name they may use must be in the program, and
// importing its package (adapters/all imports every shipped one) is the one
// step that cannot be half done. Register panics when name is empty or
// already registered, or q is nil: those are mistakes in the program, shown
// the first time it starts.
func Register(name string, q Quirks) {
	if name == "" || q == nil {
		panic("adapters: Register needs a name and quirks")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, taken := registry.quirks[name]; taken {
		panic(fmt.Sprintf("adapters: Register called twice for adapter %q", name))
	}
	registry.quirks[name] = q
}

// Registered returns the names of the registered adapters, sorted.
func Registered() []string {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Sorted(maps.Keys(registry.quirks))
}

// quirksOf returns the code of the platform, which must be registered.
func quirksOf(p fhir.Platform) (Quirks, error) {
	name := p.AdapterName()
	registry.RLock()
	q, ok := registry.quirks[name]
	registry.RUnlock()
	if !ok {
		registered := strings.Join(Registered(), ", ")
		if registered == "" {
			registered = "none"
		}
		return nil, fmt.Errorf("platform %s names adapter %q, which is not registered (registered: %s); "+
			"import its package, or adapters/all for every shipped one", p.Name, name, registered)
	}
	return q, nil
}

// HasParam reports whether params carry the search parameter name, with or
// without a modifier (code:text counts as code).
func HasParam(params url.Values, name string) bool {
	for key := range params {
		if n, _ := fhir.ParamName(key); n == name {
			return true
		}
	}
	return false
}
