package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// BasePath is where the API lives; mount the handler there:
// mux.Handle(api.BasePath+"/", a).
const BasePath = "/api/v2.0"

// Access identifies callers and decides what they may do. *auth.Gatekeeper
// implements it.
type Access interface {
	// Principal identifies the caller from its credentials: the anonymous
	// principal when it sent none, an error when they are wrong. Errors
	// wrapping auth.ErrInvalidCredentials, auth.ErrExpired or
	// auth.ErrDisabled are answered 401, auth.ErrUnavailable 503, others
	// 500.
	Principal(r *http.Request) (rbac.Principal, error)
	// Decide answers one RBAC question, with a reason.
	Decide(ctx context.Context, p rbac.Principal, project, repository string, perm rbac.Permission) (rbac.Decision, error)
}

// Deps are the components the API serves. All are required.
type Deps struct {
	Projects *project.Store
	Users    *auth.Users
	Robots   *auth.Robots
	Audit    *audit.Store
	Registry *registry.Registry
	Access   Access
}

// Who may create projects (Harbor's project_creation_restriction).
const (
	CreationEveryone  = "everyone"
	CreationAdminOnly = "adminonly"
)

// DefaultRobotDuration is the lifetime, in days, of a robot created with
// no duration (Harbor's robot_token_duration default).
const DefaultRobotDuration = 30

type config struct {
	version      string
	registryURL  string
	externalURL  string
	authMode     string
	realm        string
	creation     string
	robotDays    int
	log          *slog.Logger
	now          func() time.Time
	groupDN      func(string) string
	audit        AuditRecorder // config_audit.go; nil: configuration changes not audited
	scan         scanDeps      // scan.go; zero: no scanning endpoints
	trust        trustDeps     // trust.go; zero: no content-trust endpoints
	repl         replDeps      // replication.go; zero: no replication endpoints
	gc           GC            // gc.go; nil: no garbage collection endpoints
	webhooks     Webhooks      // webhooks.go; nil: no webhook endpoints
	defaultQuota int64         // quotas.go: storage_limit of new projects
	retention    Retention     // retention.go; nil: no retention endpoints
	immutable    Immutable     // immutable.go; nil: no immutability endpoints
	labels       Labels        // labels.go; nil: no label endpoints
	auditPurge   AuditPurge    // auditpurge.go; nil: no audit purge endpoints
	origins      []string      // WithAllowedOrigins
	ldap         Directory     // ldap.go; nil: the /ldap endpoints answer "not configured"
	userGroups   UserGroups    // usergroups.go; nil: no /usergroups endpoints
	entityIDs    EntityIDs     // member_entities.go; nil: entity_id 0
	chartCount   ChartCounter  // project_counts.go; nil: chart_count 0

	// The system groups (sysRoutes).
	health      HealthChecker    // health.go; nil: /health reports core only
	settings    Settings         // configurations.go; nil: every setting read-only
	reported    []reportedConfig // configurations.go: WithReportedConfig
	volumes     Volumes          // systeminfo_volumes.go; nil: getVolumes answers 404
	caCert      CACert           // systeminfo_volumes.go; nil: getCert answers 404
	jobPools    JobPools         // jobservice.go; nil: no jobservice endpoints
	jobQueues   JobQueues        // jobservice.go; nil: no jobservice endpoints
	scanExports ScanExports      // scan_export.go; nil: no scan data export endpoints
	oidc        OIDC             // oidc.go; nil: no OIDC endpoints
	external    []ExternalRoute  // external_routes.go: documented, served elsewhere
	oidcUsers   OIDCUsers        // users_oidc.go; nil: no oidc_user_meta in /users/current
}

// Option configures the API.
type Option func(*config)

// WithGroupDN sets how a member_group's ldap_group_dn is spelled before it
// is stored, so it matches the group names the identity provider reports
// (the reference server uses ldap.CanonicalDN). Default: as given.
func WithGroupDN(canonical func(dn string) string) Option {
	return func(c *config) { c.groupDN = canonical }
}

// WithVersion sets the version systeminfo reports (harbor_version) and the
// OpenAPI document's info.version.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithRegistryURL sets the host clients push to (systeminfo's
// registry_url), e.g. "registry.example.com".
func WithRegistryURL(u string) Option { return func(c *config) { c.registryURL = u } }

// WithExternalURL sets the server's external URL, with scheme
// (systeminfo's external_url).
func WithExternalURL(u string) Option { return func(c *config) { c.externalURL = u } }

// WithAuthMode sets the auth_mode systeminfo reports (default "db_auth";
// "ldap_auth" when a directory is wired).
func WithAuthMode(m string) Option { return func(c *config) { c.authMode = m } }

// WithRealm sets the realm of the Basic challenge sent with 401 answers
// (default "berth").
func WithRealm(realm string) Option { return func(c *config) { c.realm = realm } }

// WithProjectCreationRestriction sets who may create projects:
// CreationEveryone (default: any signed-in user) or CreationAdminOnly.
func WithProjectCreationRestriction(who string) Option { return func(c *config) { c.creation = who } }

// WithDefaultRobotDuration sets the lifetime in days of robots created
// without a duration (default DefaultRobotDuration; -1 for never).
func WithDefaultRobotDuration(days int) Option { return func(c *config) { c.robotDays = days } }

// WithLogger sets where internal errors are logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithAllowedOrigins lets browser pages served from these origins
// (scheme://host[:port], e.g. a UI on another host) send requests that
// change state. Without it, only the server's own origin (the request's
// Host, or WithExternalURL's) may: see CrossSiteGuard.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) { c.origins = append(c.origins, origins...) }
}

// WithClock sets the time source robot expiry is computed from; give it
// the robot store's clock.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// API is the management REST API: an http.Handler for BasePath and below.
// It is immutable after New and safe for concurrent use.
type API struct {
	deps    Deps
	cfg     config
	routes  []route
	mux     *http.ServeMux // METHOD + path patterns
	paths   *http.ServeMux // path patterns only, to tell 405 from 404
	methods map[string][]string
	doc     []byte // the OpenAPI document
	guard   *crossSite
	healthy healthCache // health.go: the latest /health answer
}

// New builds the API over deps.
func New(deps Deps, opts ...Option) (*API, error) {
	cfg := config{version: "dev", authMode: "db_auth", realm: "berth", creation: CreationEveryone,
		robotDays: DefaultRobotDuration, log: slog.Default(), now: time.Now, defaultQuota: project.Unlimited}
	for _, o := range opts {
		o(&cfg)
	}
	var errs []error
	switch {
	case deps.Projects == nil, deps.Users == nil, deps.Robots == nil, deps.Audit == nil,
		deps.Registry == nil, deps.Access == nil:
		errs = append(errs, errors.New("api: every dependency (Projects, Users, Robots, Audit, Registry, Access) is required"))
	}
	if cfg.creation != CreationEveryone && cfg.creation != CreationAdminOnly {
		errs = append(errs, fmt.Errorf("api: project creation restriction %q: want %q or %q", cfg.creation, CreationEveryone, CreationAdminOnly))
	}
	if cfg.robotDays != -1 && (cfg.robotDays < 1 || cfg.robotDays > maxRobotDays) {
		errs = append(errs, fmt.Errorf("api: default robot duration %d days: want -1 or 1..%d", cfg.robotDays, maxRobotDays))
	}
	errs = append(errs, cfg.checkReported()...)
	for _, o := range cfg.origins {
		if err := validOrigin(o); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.log == nil || cfg.now == nil {
		errs = append(errs, errors.New("api: nil logger or clock"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	a := &API{deps: deps, cfg: cfg, mux: http.NewServeMux(), paths: http.NewServeMux(), methods: map[string][]string{},
		guard: newCrossSite([]CrossSiteOption{GuardExternalURL(cfg.externalURL), GuardAllowedOrigins(cfg.origins...)})}
	a.routes = a.routeTable()
	for _, rt := range a.routes {
		full := BasePath + rt.path
		a.mux.Handle(rt.method+" "+full, a.wrap(rt))
		if _, seen := a.methods[full]; !seen {
			a.paths.Handle(full, http.NotFoundHandler())
		}
		a.methods[full] = append(a.methods[full], rt.method)
	}
	doc, err := a.openAPI()
	if err != nil {
		return nil, fmt.Errorf("api: rendering the OpenAPI document: %w", err)
	}
	a.doc = doc
	return a, nil
}

// ServeHTTP routes a request. Paths and methods the API does not serve get
// Harbor-shaped 404 and 405 answers; cross-site requests that change state
// get 403 before anything else is looked at (see CrossSiteGuard).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(headerRequestID, requestID(r))
	if e := a.guard.refusal(r); e != nil {
		a.writeError(w, r, e)
		return
	}
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	if _, pattern := a.paths.Handler(r); pattern != "" {
		allow := a.methods[pattern]
		w.Header().Set("Allow", joinMethods(allow))
		a.writeError(w, r, &apiError{Status: http.StatusMethodNotAllowed, Code: codeMethodNotAllowed,
			Message: fmt.Sprintf("method %s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, joinMethods(allow))})
		return
	}
	a.writeError(w, r, &apiError{Status: http.StatusNotFound, Code: codeNotFound, Message: noRouteMessage(r)})
}

func noRouteMessage(r *http.Request) string {
	return "no such API endpoint: " + r.Method + " " + r.URL.Path
}

func joinMethods(ms []string) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += ", "
		}
		out += m
	}
	return out
}
