package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// Gatekeeper is the one place that turns a request into a decision: it
// identifies the caller (a Bearer token from the token service, Basic
// credentials of a robot, a local user or an external directory user, or
// nobody) and asks RBAC what that caller may do. It implements
// registry.Authorizer for /v2/ and token.Authenticator + token.Authorizer
// for the token endpoint, so both paths grant exactly the same things.
//
//	gk := auth.NewGatekeeper(users, robots, projects, policy, tokens, "https://reg.example/service/token")
//	reg, _ := registry.New(ctx, blobs, db, registry.WithAuthorizer(gk))
//	mux.Handle("/service/token", tokens.Handler(gk, gk))
type Gatekeeper struct {
	users    *Users
	robots   *Robots
	external ExternalAuthenticator
	groups   ExternalGroups // gatekeeper_oidc.go
	projects ProjectLookup
	policy   *Policy
	tokens   *token.Service
	realm    string
	log      *slog.Logger
	observe  func(ctx context.Context, l LoginAttempt)
	cache    *credentialCache
	throttle *throttle // failed logins; login_throttle.go
	inflight singleflight.Group
	sessions SessionResolver // browser sessions; gatekeeper_session.go
}

// ProjectLookup tells whether a project exists and is public.
type ProjectLookup interface {
	Public(ctx context.Context, name string) (exists, public bool, err error)
}

// ExternalAuthenticator checks credentials against a directory (LDAP/AD).
// It returns ErrInvalidCredentials (wrapped or not) for bad credentials.
type ExternalAuthenticator interface {
	Authenticate(ctx context.Context, username, password string) (*ExternalIdentity, error)
}

// ExternalIdentity is a directory user as the Gatekeeper needs it.
type ExternalIdentity struct {
	Username, Email, DisplayName string
	Source                       string   // e.g. SourceLDAP
	Groups                       []string // as bindings spell them after "group:"
	// SystemAdmin makes the user a system admin while the directory says
	// so (an OIDC admin group), whatever its stored flag.
	SystemAdmin bool
}

// LoginAttempt describes one credential check, for the audit log.
type LoginAttempt struct {
	Username   string
	OK         bool
	Reason     string // why it failed, for logs only
	RemoteAddr string
}

// GatekeeperOption configures a Gatekeeper.
type GatekeeperOption func(*Gatekeeper)

// WithExternalAuthenticator adds a directory tried for users that are not
// local; users it accepts are onboarded on first login.
func WithExternalAuthenticator(a ExternalAuthenticator) GatekeeperOption {
	return func(g *Gatekeeper) { g.external = a }
}

// WithLoginObserver is called after every credential check.
func WithLoginObserver(f func(ctx context.Context, l LoginAttempt)) GatekeeperOption {
	return func(g *Gatekeeper) { g.observe = f }
}

// WithGatekeeperLogger sets the logger.
func WithGatekeeperLogger(l *slog.Logger) GatekeeperOption { return func(g *Gatekeeper) { g.log = l } }

// NewGatekeeper wires the pieces. realm is the token endpoint's absolute
// URL, named in every WWW-Authenticate challenge.
func NewGatekeeper(users *Users, robots *Robots, projects ProjectLookup, policy *Policy, tokens *token.Service,
	realm string, opts ...GatekeeperOption) *Gatekeeper {
	g := &Gatekeeper{users: users, robots: robots, projects: projects, policy: policy, tokens: tokens,
		realm: realm, log: slog.Default(), cache: newCredentialCache(credentialTTL, credentialCacheSize),
		throttle: newThrottle(DefaultLoginThrottle())}
	for _, o := range opts {
		o(g)
	}
	if shared(users, robots) {
		g.cache.ttl = min(g.cache.ttl, sharedStaleness)
		if policy != nil {
			policy.setMaxAge(sharedStaleness)
		}
	}
	return g
}

// sharedStaleness bounds how long a process acts on users, robots,
// projects and members as they were before another process changed them,
// when it shares the database with others (PostgreSQL): cached logins
// expire and the RBAC policy is rebuilt at least this often. A change
// made through this process invalidates both at once (Invalidate); on an
// exclusive database (SQLite) every change is made through it.
const sharedStaleness = 30 * time.Second

// shared reports whether other processes may change the stores' database.
func shared(users *Users, robots *Robots) bool {
	return users != nil && !users.db.Exclusive() || robots != nil && !robots.db.Exclusive()
}

// Invalidate forgets cached credentials and reloads the policy on next use;
// wire it to every user, robot, project and member change.
func (g *Gatekeeper) Invalidate() {
	g.cache.clear()
	g.policy.Invalidate()
}

// Authorize implements registry.Authorizer.
func (g *Gatekeeper) Authorize(r *http.Request, need []registry.Access) (context.Context, error) {
	ctx := r.Context()
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		claims, err := g.tokens.VerifyRequest(r, need)
		if err != nil {
			// A valid token lacking scope names its caller: a refusal to
			// audit. Other failures name nobody.
			var refused context.Context
			if claims != nil && claims.Subject != "" {
				refused = registry.WithActor(ctx, claims.Subject)
			}
			return refused, g.tokens.Unauthorized(g.realm, need, err)
		}
		if claims.Subject != "" {
			ctx = withCaller(ctx, caller{subject: claims.Subject, granted: claims.Access})
		}
		return registry.WithActor(ctx, claims.Subject), nil
	}
	p, err := g.Principal(r)
	if err != nil {
		return nil, g.loginError(need, err)
	}
	if p.Kind == rbac.Anonymous && len(need) == 0 {
		// The /v2/ ping: challenge, so clients log in (docker login).
		return nil, g.tokens.Unauthorized(g.realm, need, nil)
	}
	if err := g.check(ctx, p, need); err != nil {
		var ae *accessError
		if errors.As(err, &ae) && p.Kind == rbac.Anonymous {
			return nil, g.tokens.Unauthorized(g.realm, need, nil)
		}
		if p.Kind == rbac.Anonymous {
			return nil, toRegistryError(err)
		}
		return registry.WithActor(ctx, p.Name), toRegistryError(err)
	}
	if p.Kind == rbac.Anonymous {
		return ctx, nil
	}
	return registry.WithActor(withCaller(ctx, caller{principal: &p}), p.Name), nil
}

// Principal identifies a request's caller from Basic credentials or,
// without an Authorization header, its browser session (WithSessions), or
// returns the anonymous principal when there are none.
func (g *Gatekeeper) Principal(r *http.Request) (rbac.Principal, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		if r.Header.Get("Authorization") != "" {
			return rbac.Principal{}, fmt.Errorf("%w: unsupported Authorization scheme", ErrInvalidCredentials)
		}
		return g.sessionPrincipal(r)
	}
	return g.login(r.Context(), user, pass, r.RemoteAddr)
}

// Decide asks RBAC about one permission, for the management API.
func (g *Gatekeeper) Decide(ctx context.Context, p rbac.Principal, project, repository string, perm rbac.Permission) (rbac.Decision, error) {
	e, err := g.policy.Engine(ctx)
	if err != nil {
		return rbac.Decision{}, err
	}
	return e.Decide(p, project, repository, perm), nil
}

// Authenticate implements token.Authenticator for the token endpoint.
func (g *Gatekeeper) Authenticate(ctx context.Context, username, password string) (token.Identity, error) {
	p, err := g.login(ctx, username, password, token.ClientAddr(ctx))
	if err != nil {
		// The store says disabled or expired only for right credentials.
		switch {
		case errors.Is(err, ErrDisabled):
			return token.Identity{}, fmt.Errorf("%w: %v", token.ErrAccountDisabled, err)
		case errors.Is(err, ErrExpired):
			return token.Identity{}, fmt.Errorf("%w: %v", token.ErrAccountExpired, err)
		case errors.Is(err, ErrInvalidCredentials):
			return token.Identity{}, fmt.Errorf("%w: %v", token.ErrInvalidCredentials, err)
		}
		return token.Identity{}, err
	}
	return principalIdentity(p), nil
}

// Grant implements token.Authorizer: the subset of requested that RBAC
// allows the identity (nil for anonymous).
func (g *Gatekeeper) Grant(ctx context.Context, id *token.Identity, requested []registry.Access) []registry.Access {
	p := identityPrincipal(id)
	var out []registry.Access
	for _, a := range requested {
		actions, err := g.allowed(ctx, p, a)
		if err != nil {
			g.log.WarnContext(ctx, "token grant", "subject", p.Name, "scope", a.Name, "err", err)
			continue
		}
		if len(actions) > 0 {
			out = append(out, registry.Access{Type: a.Type, Name: a.Name, Actions: actions})
		}
	}
	return out
}
