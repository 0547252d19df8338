package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/internal/seal"
)

// SourceOIDC is the source of users onboarded through OIDC (auth.User's
// Source): they have no password here and log in at the provider, or
// with their CLI secret.
const SourceOIDC = "oidc"

// Paths the Handler serves, as Harbor names them.
const (
	LoginPath    = "/c/oidc/login"
	CallbackPath = "/c/oidc/callback"
	OnboardPath  = "/c/oidc/onboard"
	LogoutPath   = "/c/oidc/logout"
	// OnboardPage is where a user who must choose a name is sent (Harbor's
	// portal page), with ?username=<suggestion>; it posts the name to
	// OnboardPath.
	OnboardPage = "/oidc-onboard"
)

// Users is the user store as this package needs it; *auth.Users
// implements it.
type Users interface {
	Get(ctx context.Context, name string) (*auth.User, error)
	Onboard(ctx context.Context, name, email, displayName, source string) (*auth.User, error)
}

// SessionStarter starts a browser session for username once the provider
// has authenticated it (the session manager implements it).
type SessionStarter interface {
	Start(w http.ResponseWriter, r *http.Request, username string) error
}

// Service is berth as an OIDC relying party: the browser login
// (authorization code with PKCE, state and nonce), onboarding, and the CLI
// secret that OIDC users give docker as their password. It implements
// auth.ExternalAuthenticator for that secret. Safe for concurrent use.
type Service struct {
	cfg      Config
	filter   *regexp.Regexp
	users    Users
	links    *Links
	flow     *seal.Sealer // the login and onboarding cookies
	sessions SessionStarter
	logout   func(w http.ResponseWriter, r *http.Request) error
	client   *http.Client
	log      *slog.Logger
	now      func() time.Time

	mu   sync.Mutex
	prov *discovered // nil until discovery succeeds
}

// discovered is the provider as its discovery document describes it.
type discovered struct {
	p          *gooidc.Provider
	verifier   *gooidc.IDTokenVerifier
	oauth      *oauth2.Config
	endSession string
}

// Option configures a Service.
type Option func(*Service)

// WithHTTPClient sets the client that talks to the provider (default: one
// with a 10-second timeout). Give one that skips certificate checks only
// when Harbor's verify_cert is off.
func WithHTTPClient(c *http.Client) Option { return func(s *Service) { s.client = c } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the time source (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogout sets how LogoutPath ends the browser session before it sends
// the user to the provider's end_session_endpoint.
func WithLogout(end func(w http.ResponseWriter, r *http.Request) error) Option {
	return func(s *Service) { s.logout = end }
}

// New returns the relying party for cfg. key (seal.KeySize bytes, the
// server's secret key) seals the short-lived login cookies; links keeps
// the OIDC users; sessions starts a browser session after a login. The
// provider is discovered at first use, so a provider that is down does
// not stop the server.
func New(cfg Config, users Users, links *Links, sessions SessionStarter, key []byte, opts ...Option) (*Service, error) {
	filter, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if users == nil || links == nil || sessions == nil {
		return nil, errors.New("oidc: users, links and sessions are required")
	}
	if len(key) != seal.KeySize {
		return nil, fmt.Errorf("oidc: the cookie key must be %d bytes", seal.KeySize)
	}
	flow, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, filter: filter, users: users, links: links, flow: flow, sessions: sessions,
		client: &http.Client{Timeout: 10 * time.Second}, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.client == nil || s.log == nil || s.now == nil {
		return nil, errors.New("oidc: nil HTTP client, logger or clock")
	}
	return s, nil
}

// Links is the store of OIDC users.
func (s *Service) Links() *Links { return s.links }

// bg is a context for talking to the provider that outlives requests
// (the key set is fetched with it), carrying the HTTP client.
func (s *Service) bg() context.Context { return gooidc.ClientContext(context.Background(), s.client) }

// ctx carries the HTTP client into a request's context.
func (s *Service) ctx(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, s.client)
}

// provider discovers the provider once; failures are retried at the
// next use.
func (s *Service) provider(ctx context.Context) (*discovered, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prov != nil {
		return s.prov, nil
	}
	dctx, cancel := context.WithTimeout(s.ctx(ctx), 15*time.Second)
	defer cancel()
	p, err := gooidc.NewProvider(dctx, s.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: OIDC discovery at %s: %v", auth.ErrUnavailable, s.cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	s.prov = &discovered{p: p, endSession: extra.EndSession,
		verifier: p.VerifierContext(s.bg(), &gooidc.Config{ClientID: s.cfg.ClientID, Now: s.now}),
		oauth: &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: s.cfg.RedirectURL, Scopes: s.cfg.Scopes}}
	return s.prov, nil
}

// Ping fetches the discovery document of issuer with client and checks
// it names that issuer and the endpoints a login needs. Its error says
// why not, for an administrator.
func Ping(ctx context.Context, issuer string, client *http.Client) error {
	ctx, cancel := context.WithTimeout(gooidc.ClientContext(ctx, client), 15*time.Second)
	defer cancel()
	p, err := gooidc.NewProvider(ctx, issuer)
	if err != nil {
		return err
	}
	var d struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&d); err != nil {
		return err
	}
	switch {
	case p.Endpoint().AuthURL == "":
		return errors.New("the discovery document has no authorization_endpoint")
	case p.Endpoint().TokenURL == "":
		return errors.New("the discovery document has no token_endpoint")
	case d.JWKS == "":
		return errors.New("the discovery document has no jwks_uri")
	}
	return nil
}
