// Package all links every platform adapter PortalGate ships (athena,
// cerner, epic, smart), so that every adapter name its platform files
// (configs/platforms/*.yaml) use is registered. Import it for its side
// effect wherever adapters are made:
//
//	import _ "github.com/portalgate/portalgate/adapters/all"
package all

import (
	_ "github.com/portalgate/portalgate/adapters/athena" // registers "athena"
	_ "github.com/portalgate/portalgate/adapters/cerner" // registers "cerner"
	_ "github.com/portalgate/portalgate/adapters/epic"   // registers "epic"
	_ "github.com/portalgate/portalgate/adapters/smart"  // registers "smart"
)
