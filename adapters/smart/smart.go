// Package smart owns the code of a plain SMART on FHIR R4 server, which is
// none: everything such a server needs is in its data
// (configs/platforms/smart.yaml), applied by package adapters. It exists so
// that the platform names an adapter like every other, and a server that
// follows the specifications is searched as they are written.
//
// Importing the package registers it as the adapter "smart" (adapters.Register
// says why adapters register themselves); adapters/all imports every
// shipped one.
package smart

import (
	"context"
	"net/url"

	"github.com/portalgate/portalgate/adapters"
	"github.com/portalgate/portalgate/fhir"
)

func init() { adapters.Register("smart", quirks{}) }

type quirks struct{}

func (quirks) Search(ctx context.Context, _ fhir.Platform, typ string, params url.Values, next adapters.Searcher) (*fhir.SearchResult, error) {
	return next(ctx, typ, params)
}
