package oidc

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Config is how berth logs users in at an OIDC provider, with Harbor's
// settings (oidc_endpoint, oidc_client_id, oidc_scope, oidc_user_claim,
// oidc_groups_claim, oidc_admin_group, oidc_group_filter,
// oidc_auto_onboard, oidc_verify_cert, oidc_extra_redirect_parms).
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback, absolute:
	// https://registry.example/c/oidc/callback.
	RedirectURL string
	// Scopes asked for; default DefaultScopes. "openid" is always sent.
	// With "offline_access" the provider issues a refresh token, which
	// re-validates the user when the CLI secret is used.
	Scopes []string
	// UsernameClaim names the claim that becomes the user name; empty:
	// preferred_username, else name. A name that is missing or taken
	// sends the user to onboarding (POST /c/oidc/onboard).
	UsernameClaim string
	// GroupsClaim names the claim listing the user's groups (a string
	// array, or one string); empty: no groups.
	GroupsClaim string
	// AdminGroup makes the members of this group system admins while the
	// provider says so (checked at each login and refresh).
	AdminGroup string
	// GroupFilter is a regular expression: only matching groups count.
	GroupFilter string
	// AutoOnboard creates the user at its first login with the name from
	// the username claim; without it every new user goes to onboarding.
	AutoOnboard bool
	// ExtraAuthParams are added to the authorization request (Harbor's
	// extra_redirect_parms), e.g. {"prompt": "login"}.
	ExtraAuthParams map[string]string
	// RefreshInterval is how often, at most, using the CLI secret asks
	// the provider to refresh the user's token (default 5 minutes; a
	// negative value never asks).
	RefreshInterval time.Duration
}

// DefaultScopes are Harbor's default oidc_scope.
var defaultScopes = []string{"openid", "profile", "email", "offline_access"}

// DefaultScopes returns the scopes asked for when Config.Scopes is empty.
func DefaultScopes() []string { return slices.Clone(defaultScopes) }

// DefaultRefreshInterval is Config.RefreshInterval's default.
const DefaultRefreshInterval = 5 * time.Minute

// validate checks the configuration and fills in its defaults.
func (c *Config) validate() (*regexp.Regexp, error) {
	var errs []error
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("oidc: issuer %q: want an http(s) URL", c.Issuer))
	}
	if c.ClientID == "" {
		errs = append(errs, errors.New("oidc: client_id is required"))
	}
	if u, err := url.Parse(c.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		errs = append(errs, fmt.Errorf("oidc: redirect URL %q: want an absolute URL (the server's external URL + %s)", c.RedirectURL, CallbackPath))
	}
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes()
	}
	if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			errs = append(errs, fmt.Errorf("oidc: scope %q: want a word", s))
		}
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	var filter *regexp.Regexp
	if c.GroupFilter != "" {
		var err error
		if filter, err = regexp.Compile(c.GroupFilter); err != nil {
			errs = append(errs, fmt.Errorf("oidc: group_filter: %w", err))
		}
	}
	for k := range c.ExtraAuthParams {
		switch k {
		case "state", "nonce", "code_challenge", "code_challenge_method", "redirect_uri", "client_id", "response_type", "scope":
			errs = append(errs, fmt.Errorf("oidc: extra redirect parameter %q: berth sets it", k))
		}
	}
	return filter, errors.Join(errs...)
}

// ParseScopes splits Harbor's comma-separated oidc_scope.
func ParseScopes(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
