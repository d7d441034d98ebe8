package gateway

import "github.com/gin-gonic/gin"

// Header values shared by every response. Assigning these slices instead
// of calling Header.Set saves an allocation per header per request, as Gin
// does for its own content types; each has len == cap, so a later Add
// copies rather than writing into the shared array.
var (
	cacheControlNoStore = []string{"no-store"}
	pragmaNoCache       = []string{"no-cache"}
	contentTypeNoSniff  = []string{"nosniff"}
	referrerNone        = []string{"no-referrer"}
	frameDeny           = []string{"DENY"}
	// apiCSP forbids everything: API responses are data, never documents
	// to render or frame. Handlers serving HTML set their own policy.
	apiCSP = []string{"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"}
	// hsts pins HTTPS for two years, subdomains included.
	hsts = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeadersMiddleware sets the headers every response carries,
// before the handler runs so that error responses and panics get them too.
// Responses may hold patient data: nothing may cache them.
func (s *Server) securityHeadersMiddleware(c *gin.Context) {
	h := c.Writer.Header()
	h["Cache-Control"] = cacheControlNoStore
	h["Pragma"] = pragmaNoCache
	h["X-Content-Type-Options"] = contentTypeNoSniff
	h["Referrer-Policy"] = referrerNone
	h["X-Frame-Options"] = frameDeny
	h["Content-Security-Policy"] = apiCSP
	if s.tls {
		h["Strict-Transport-Security"] = hsts
	}
	c.Next()
}
