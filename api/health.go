package api

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Bounds of the scanners' health checks: at most maxHealthScanners
// enabled scanners are asked, at once, each for at most
// scannerHealthTimeout.
const (
	maxHealthScanners    = 8
	scannerHealthTimeout = 5 * time.Second
)

// Health statuses, Harbor's.
const (
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// HealthChecker reports the health of the server's components; the
// server implements it over the checks of its readiness probe.
type HealthChecker interface {
	// Health checks every component now. An unhealthy component's Error
	// is shown to anyone, so it says what is down, not why in detail.
	Health(ctx context.Context) []ComponentHealth
}

// ComponentHealth is one component's health: Harbor's
// ComponentHealthStatus.
type ComponentHealth struct {
	Name   string `json:"name" doc:"core, database, storage, jobservice, ldap, ..."`
	Status string `json:"status" doc:"healthy or unhealthy"`
	Error  string `json:"error,omitempty"`
}

// OverallHealth is what /health answers: Harbor's OverallHealthStatus.
type OverallHealth struct {
	Status     string            `json:"status" doc:"healthy when every component is"`
	Components []ComponentHealth `json:"components"`
}

// WithHealth reports the components h checks under /health; without it,
// /health reports the API itself ("core") only.
func WithHealth(h HealthChecker) Option { return func(c *config) { c.health = h } }

func (a *API) healthRoutes() []route {
	return []route{{method: http.MethodGet, path: "/health", id: "getHealth", tag: "health",
		summary: "The health of each component (no login needed); 200 even when one is unhealthy, as Harbor answers",
		resp:    OverallHealth{}, handle: a.getHealth}}
}

// healthTTL is how long a /health answer is reused: the endpoint needs no
// login, and each fresh answer asks the database, the blob store, the
// directory and every scanner.
const healthTTL = 5 * time.Second

// healthCache holds the latest /health answer; concurrent callers wait
// for one check rather than each making their own.
type healthCache struct {
	mu  sync.Mutex
	at  time.Time
	out OverallHealth
}

func (a *API) getHealth(c *call) error {
	a.healthy.mu.Lock()
	defer a.healthy.mu.Unlock()
	if now := a.cfg.now(); a.healthy.at.IsZero() || now.Sub(a.healthy.at) >= healthTTL || now.Before(a.healthy.at) {
		a.healthy.out, a.healthy.at = a.checkHealth(c.ctx()), now
	}
	return c.json(http.StatusOK, a.healthy.out)
}

// checkHealth asks every component.
func (a *API) checkHealth(ctx context.Context) OverallHealth {
	out := OverallHealth{Status: Healthy, Components: []ComponentHealth{{Name: "core", Status: Healthy}}}
	if a.cfg.health != nil {
		out.Components = append(out.Components, a.cfg.health.Health(ctx)...)
	}
	out.Components = append(out.Components, a.scannerHealth(ctx)...)
	for _, comp := range out.Components {
		if comp.Status != Healthy {
			out.Status = Unhealthy
		}
	}
	return out
}

// scannerHealth asks each enabled scanner for its metadata (the built-in
// one answers at once), as Harbor reports its scanner under /health.
func (a *API) scannerHealth(ctx context.Context) []ComponentHealth {
	if a.cfg.scan.svc == nil {
		return nil
	}
	regs, err := a.cfg.scan.svc.Scanners(ctx)
	if err != nil {
		return []ComponentHealth{{Name: "scanners", Status: Unhealthy, Error: "cannot list the scanners"}}
	}
	var ids []string
	out := []ComponentHealth{}
	for _, r := range regs {
		if !r.Disabled && len(out) < maxHealthScanners {
			ids = append(ids, r.ID)
			out = append(out, ComponentHealth{Name: "scanner:" + r.Name, Status: Healthy})
		}
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, scannerHealthTimeout)
			defer cancel()
			if _, err := a.cfg.scan.svc.ScannerMetadata(cctx, id); err != nil {
				out[i].Status, out[i].Error = Unhealthy, "the scanner does not answer"
			}
		})
	}
	wg.Wait()
	return out
}
