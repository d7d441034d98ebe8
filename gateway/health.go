package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
)

// ReadyCheck reports whether a dependency the gateway needs to serve
// traffic (a store, a cache) is usable. It must honour ctx's deadline.
type ReadyCheck func(ctx context.Context) error

type readyCheck struct {
	name  string
	check ReadyCheck
}

var healthyBody = []byte(`{"status":"ok"}`)

// healthz is the liveness probe: the process is up and serving HTTP.
func healthz(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", healthyBody)
}

// AddReadyCheck registers a named readiness check, run by every GET
// /readyz under a short deadline (Options.ReadyCheckTimeout). It panics on
// an empty or repeated name or a nil check, which are programming errors.
func (s *Server) AddReadyCheck(name string, check ReadyCheck) {
	if name == "" || check == nil {
		panic("gateway: AddReadyCheck needs a name and a check")
	}
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	for _, rc := range s.checks {
		if rc.name == name {
			panic(fmt.Sprintf("gateway: ready check %q registered twice", name))
		}
	}
	s.checks = append(s.checks, readyCheck{name: name, check: check})
}

// SetReady marks whether start-up has finished. /readyz answers 503 until
// it is called with true; call it with false when shutting down so that
// load balancers stop sending traffic before the drain.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// readinessReport is the body of GET /readyz. Status is "ok", "not_ready"
// (before start-up finished or once shutting down) or "unavailable" (a
// check failed; Failing names them).
type readinessReport struct {
	Status  string   `json:"status"`
	Failing []string `json:"failing,omitempty"`
}

// readyz is the readiness probe. It names the failing checks but only
// logs their errors, which may describe internal hosts.
func (s *Server) readyz(c *gin.Context) {
	if !s.ready.Load() {
		c.JSON(http.StatusServiceUnavailable, readinessReport{Status: "not_ready"})
		return
	}
	if failing := s.runReadyChecks(c.Request.Context()); len(failing) > 0 {
		c.JSON(http.StatusServiceUnavailable, readinessReport{Status: "unavailable", Failing: failing})
		return
	}
	c.JSON(http.StatusOK, readinessReport{Status: "ok"})
}

var errCheckTimedOut = errors.New("no answer before the deadline")

// runReadyChecks runs every check concurrently under the readiness
// deadline, logs the failures and returns the failing names in
// registration order. A check that ignores its deadline is reported as
// failing rather than waited for.
func (s *Server) runReadyChecks(ctx context.Context) []string {
	s.checksMu.Lock()
	checks := slices.Clone(s.checks)
	s.checksMu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, s.readyTimeout)
	defer cancel()
	type result struct {
		index int
		err   error
	}
	results := make(chan result, len(checks)) // buffered: an abandoned check never blocks
	for i, rc := range checks {
		go func() { results <- result{i, rc.check(ctx)} }()
	}

	errs := make([]error, len(checks))
	for i := range errs {
		errs[i] = errCheckTimedOut
	}
collect:
	for range checks {
		select {
		case r := <-results:
			errs[r.index] = r.err
		case <-ctx.Done():
			break collect
		}
	}

	var failing []string
	for i, err := range errs {
		if err != nil {
			failing = append(failing, checks[i].name)
			s.logger.LogAttrs(ctx, slog.LevelWarn, "ready check failed",
				slog.String("check", checks[i].name), slog.String("error", err.Error()))
		}
	}
	return failing
}
