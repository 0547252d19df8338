package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/oidc"
	"github.com/berthlabs/berth/auth/session"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/internal/seal"
)

// OIDCConfig logs users in at an OpenID Connect provider: Harbor's OIDC
// auth mode. Setting endpoint turns it on (auth_mode oidc_auth), instead
// of LDAP.
type OIDCConfig struct {
	Endpoint         string   `yaml:"endpoint" help:"issuer URL of the OIDC provider; set, users log in there (auth mode oidc_auth; excludes ldap)"`
	ClientID         string   `yaml:"client_id" help:"this server's client id at the provider; its redirect URI is <external_url>/c/oidc/callback"`
	ClientSecret     string   `yaml:"client_secret" secret:"true" help:"this server's client secret at the provider"`
	ClientSecretFile string   `yaml:"client_secret_file" help:"file holding the client secret (instead of client_secret)"`
	Scope            []string `yaml:"scope" help:"scopes asked for; offline_access lets the CLI secret re-validate users at the provider"`
	UsernameClaim    string   `yaml:"username_claim" help:"claim that names the user (empty: preferred_username, else name); a missing or taken name sends the user to onboarding"`
	GroupsClaim      string   `yaml:"groups_claim" help:"claim listing the user's groups, matched against project members of kind group"`
	AdminGroup       string   `yaml:"admin_group" help:"members of this group are system admins while the provider says so"`
	GroupFilter      string   `yaml:"group_filter" help:"regular expression: only matching groups count"`
	AutoOnboard      bool     `yaml:"auto_onboard" help:"create users at their first login under the username claim, without asking"`
	VerifyCert       bool     `yaml:"verify_cert" help:"check the provider's TLS certificate (turn off only to test)"`
	// ExtraRedirectParms are key=value pairs added to the authorization
	// request (Harbor's extra_redirect_parms).
	ExtraRedirectParms []string      `yaml:"extra_redirect_parms" help:"key=value parameters added to the authorization request, e.g. prompt=login"`
	RefreshInterval    time.Duration `yaml:"refresh_interval" help:"how often, at most, using a CLI secret re-validates the user with its refresh token"`
}

// defaultOIDC is OIDCConfig's default: off, with Harbor's default scope.
func defaultOIDC() OIDCConfig {
	return OIDCConfig{Scope: oidc.DefaultScopes(), VerifyCert: true, RefreshInterval: oidc.DefaultRefreshInterval}
}

// oidcLogin is the OIDC login of the server.
type oidcLogin struct {
	svc *oidc.Service
}

// openOIDC builds the OIDC login of cfg, or nil when it is off.
func openOIDC(ctx context.Context, st *store, cfg Config, users *auth.Users, sessions *session.Manager, log *slog.Logger) (*oidcLogin, error) {
	c := cfg.OIDC
	if c.Endpoint == "" {
		return nil, nil
	}
	if cfg.LDAP.ConfigFile != "" {
		return nil, errors.New("oidc.endpoint and ldap.config exclude each other: choose one auth mode")
	}
	secret := c.ClientSecret
	if c.ClientSecretFile != "" {
		b, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("oidc.client_secret_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	extra := map[string]string{}
	for _, kv := range c.ExtraRedirectParms {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("oidc.extra_redirect_parms: %q: want key=value", kv)
		}
		extra[k] = v
	}
	key, err := st.secret(cfg)
	if err != nil {
		return nil, err
	}
	sealer, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	links, err := oidc.NewLinks(ctx, st.db, sealer, nil)
	if err != nil {
		return nil, err
	}
	o := &oidcLogin{}
	o.svc, err = oidc.New(oidc.Config{Issuer: c.Endpoint, ClientID: c.ClientID, ClientSecret: secret,
		RedirectURL: strings.TrimSuffix(cfg.ExternalURL, "/") + oidc.CallbackPath, Scopes: c.Scope,
		UsernameClaim: c.UsernameClaim, GroupsClaim: c.GroupsClaim, AdminGroup: c.AdminGroup, GroupFilter: c.GroupFilter,
		AutoOnboard: c.AutoOnboard, ExtraAuthParams: extra, RefreshInterval: c.RefreshInterval},
		users, links, sessions, key, oidc.WithHTTPClient(oidcClient(c.VerifyCert)), oidc.WithLogger(log.With("component", "oidc")),
		oidc.WithLogout(sessions.End))
	if err != nil {
		return nil, err
	}
	return o, nil
}

// oidcClient talks to the provider.
func oidcClient(verify bool) *http.Client {
	c := &http.Client{Timeout: 10 * time.Second}
	if !verify {
		c.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // the operator's choice (verify_cert: false)
	}
	return c
}

// forgetOIDCUser removes a deleted user's OIDC link; a users change hook.
func (id *identity) forgetOIDCUser(ctx context.Context, c auth.Change) {
	if c.Kind != auth.ChangeUserDelete || id.oidc == nil {
		return
	}
	if err := id.oidc.svc.Links().Forget(context.WithoutCancel(ctx), c.Name); err != nil {
		slog.Default().Error("oidc: forgetting a deleted user", "user", c.Name, "err", err)
	}
}

// oidcAPI serves setCliSecret and pingOIDC: the CLI secret only in OIDC
// auth mode (412 otherwise), the ping always (an admin tries a provider
// before switching).
type oidcAPI struct{ id *identity }

// SetCLISecret replaces the secret, then drops cached logins here and on
// the other nodes, so the old secret stops working at once.
func (o oidcAPI) SetCLISecret(ctx context.Context, username, secret string) error {
	if o.id.oidc == nil {
		return core.New(core.ErrPrecondition, "the server is not in OIDC auth mode (oidc.endpoint is not set)")
	}
	if err := o.id.oidc.svc.SetCLISecret(ctx, username, secret); err != nil {
		return err
	}
	o.id.gk.Invalidate()
	o.id.changes.announce(ctx, changeIdentity)
	return nil
}

func (o oidcAPI) Ping(ctx context.Context, issuer string, verifyCert bool) error {
	return oidc.Ping(ctx, issuer, oidcClient(verifyCert))
}

// OIDCUser is username's OIDC link and CLI secret, for the user's own
// /users/current.
func (o oidcAPI) OIDCUser(ctx context.Context, username string) (api.OIDCUserRecord, bool, error) {
	if o.id.oidc == nil {
		return api.OIDCUserRecord{}, false, nil
	}
	l, err := o.id.oidc.svc.Links().Get(ctx, username)
	if errors.Is(err, auth.ErrNotFound) {
		return api.OIDCUserRecord{}, false, nil
	}
	if err != nil {
		return api.OIDCUserRecord{}, false, err
	}
	secret, err := o.id.oidc.svc.CLISecret(ctx, username)
	return api.OIDCUserRecord{Issuer: l.Issuer, Subject: l.Subject, Secret: secret, CreatedAt: l.CreatedAt,
		UpdatedAt: l.UpdatedAt}, err == nil, err
}

// oidcAPIOptions are the management API's OIDC options.
func (id *identity) oidcAPIOptions() []api.Option {
	opts := []api.Option{api.WithOIDC(oidcAPI{id: id})}
	if id.oidc != nil {
		opts = append(opts, api.WithAuthMode("oidc_auth"), api.WithOIDCUsers(oidcAPI{id: id}))
	}
	return opts
}

// mountOIDC serves the browser login under /c/oidc/.
func (id *identity) mountOIDC(mux *http.ServeMux) {
	if id.oidc != nil {
		mux.Handle("/c/oidc/", id.oidc.svc.Handler())
	}
}
