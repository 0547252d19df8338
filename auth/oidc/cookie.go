package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookies that carry a login across the trip to the provider: sealed
// (AES-GCM with the server's key), so any node can finish the flow and
// the browser can neither read nor change them; HttpOnly; SameSite=Lax
// (the provider's redirect back is a top-level GET, which Lax lets
// through; a cross-site POST does not carry them).
const (
	flowCookie    = "berth_oidc_flow"
	onboardCookie = "berth_oidc_onboard"
	flowLifetime  = 10 * time.Minute
	maxCookie     = 4096
	// onboardCookiePath is "/", not OnboardPath: the browser is on the
	// portal's OnboardPage when it sends the chosen name, and a portal
	// without JavaScript posts it there, to be passed on to OnboardPath
	// with the browser's cookies.
	onboardCookiePath = "/"
)

// flowState is what the callback checks: the login's state, nonce and
// PKCE verifier, and where to send the user afterwards.
type flowState struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Redirect string    `json:"r"`
	Expires  time.Time `json:"e"`
}

// pending is an authenticated user that must still choose a name.
type pending struct {
	Identity identity  `json:"i"`
	Redirect string    `json:"r"`
	Expires  time.Time `json:"e"`
}

func (s *Service) setCookie(w http.ResponseWriter, name, path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sealed, err := s.flow.Seal(string(b), "cookie."+name)
	if err != nil {
		return err
	}
	if len(sealed) > maxCookie {
		return errors.New("oidc: the login state is too big for a cookie")
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: sealed, Path: path, MaxAge: int(flowLifetime / time.Second),
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	return nil
}

// readCookie opens cookie name into v; false when it is missing, altered
// or expired.
func (s *Service) readCookie(r *http.Request, name string, v any, expires func() time.Time) bool {
	c, err := r.Cookie(name)
	if err != nil || len(c.Value) > maxCookie {
		return false
	}
	plain, err := s.flow.Open(c.Value, "cookie."+name)
	if err != nil || !strings.HasPrefix(c.Value, "gcm:") {
		return false
	}
	if json.Unmarshal([]byte(plain), v) != nil {
		return false
	}
	return s.now().Before(expires())
}

func (s *Service) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1,
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
}

// secure reports whether cookies must be Secure: the callback is https.
func (s *Service) secure() bool { return strings.HasPrefix(s.cfg.RedirectURL, "https://") }

// localRedirect returns target when it is a path on this server, else
// "/": never an absolute URL, a scheme-relative one (//evil) or one with
// a backslash that browsers read as a slash.
func localRedirect(target string) string {
	if target == "" || len(target) > 2048 || !strings.HasPrefix(target, "/") ||
		strings.HasPrefix(target, "//") || strings.ContainsAny(target, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return target
}
