package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/rbac"
)

// OIDC is OIDC login as the API needs it: the server adapts
// *oidc.Service (auth/oidc) to it.
type OIDC interface {
	// SetCLISecret replaces an OIDC user's CLI secret. Errors: a kind of
	// core.ErrInvalid for a secret that breaks the rule (400),
	// core.ErrPrecondition when the server is not in OIDC auth mode or
	// the user was not onboarded through OIDC (412), core.ErrNotFound for
	// no such user (404).
	SetCLISecret(ctx context.Context, username, secret string) error
	// Ping fetches the discovery document of the provider at issuer; its
	// error says why it is not usable.
	Ping(ctx context.Context, issuer string, verifyCert bool) error
}

// WithOIDC serves setCliSecret (PUT /users/{user}/cli_secret) and
// pingOIDC (POST /system/oidc/ping).
func WithOIDC(o OIDC) Option { return func(c *config) { c.oidc = o } }

// OIDCCliSecretReq sets a CLI secret (Harbor's model).
type OIDCCliSecretReq struct {
	Secret string `json:"secret" doc:"The new secret: 8 to 128 characters with an upper-case letter, a lower-case letter and a digit"`
}

// OIDCPingReq is the provider pingOIDC tests.
type OIDCPingReq struct {
	URL        string `json:"url" doc:"The provider's issuer URL; its discovery document is fetched"`
	VerifyCert *bool  `json:"verify_cert,omitempty" doc:"Check the provider's TLS certificate (default true)"`
}

func (a *API) oidcRoutes() []route {
	if a.cfg.oidc == nil {
		return nil
	}
	return []route{
		{method: http.MethodPut, path: pUser + "/cli_secret", id: "setCliSecret", tag: "user",
			summary: "Set an OIDC user's CLI secret, its password for docker login (the user, or system admins; OIDC auth mode only)",
			body:    OIDCCliSecretReq{}, handle: a.setCliSecret},
		{method: http.MethodPost, path: "/system/oidc/ping", id: "pingOIDC", tag: "oidc",
			summary: "Test an OIDC provider: fetch and check its discovery document (system admins); 400 with the reason",
			body:    OIDCPingReq{}, handle: a.pingOIDC},
	}
}

func (a *API) setCliSecret(c *call) error {
	name, err := c.userName()
	if err != nil {
		return err
	}
	self := c.self(name)
	if !self {
		if err := c.requireAdmin(permUser(rbac.ActionUpdate)); err != nil {
			return err
		}
	}
	req, err := decodeAs[OIDCCliSecretReq](c)
	if err != nil {
		return err
	}
	if !self {
		if _, err := a.deps.Users.Get(c.ctx(), name); errors.Is(err, auth.ErrNotFound) {
			return notFound("no user named " + name)
		} else if err != nil {
			return err
		}
	}
	return a.okOr(c, a.cfg.oidc.SetCLISecret(c.ctx(), name, req.Secret))
}

func (a *API) pingOIDC(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	req, err := decodeAs[OIDCPingReq](c)
	if err != nil {
		return err
	}
	u, perr := url.Parse(req.URL)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(req.URL) > 2048 {
		return badRequest("url: want the provider's http(s) issuer URL")
	}
	verify := req.VerifyCert == nil || *req.VerifyCert
	if err := a.cfg.oidc.Ping(c.ctx(), req.URL, verify); err != nil {
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		return badRequest("the OIDC provider at " + req.URL + " is not usable: " + msg)
	}
	return c.ok()
}
