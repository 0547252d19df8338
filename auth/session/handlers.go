package session

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/berthlabs/berth/core"
)

// Authenticator checks the credentials of a browser login; the server
// implements it with the Gatekeeper, so logins through the browser are
// throttled and audited like every other.
type Authenticator interface {
	// BrowserLogin returns the canonical name of the user whose
	// password is right, and the directory groups they belong to.
	// Refused credentials are an error matching core.ErrDenied (answered
	// 401, never saying which part was wrong); an error with a
	// RetryAfter() time.Duration method is a throttled attempt (429);
	// one matching core.ErrUnavailable, a directory that is down (503).
	BrowserLogin(ctx context.Context, username, password, remoteAddr string) (name string, groups []string, err error)
}

// maxLoginBody bounds a login form.
const maxLoginBody = 64 << 10

// Handler serves Harbor's browser login and logout: POST /c/login (form
// fields principal and password, as Harbor's web UI sends them: 200 with
// the session cookie and the CSRF token), and GET or POST /c/log_out
// (the session ends on every node; the cookie is expired).
func (m *Manager) Handler(a Authenticator) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+LoginPath, func(w http.ResponseWriter, r *http.Request) { m.login(w, r, a) })
	mux.HandleFunc("GET "+LogoutPath, m.logout)
	mux.HandleFunc("POST "+LogoutPath, m.logout)
	return mux
}

func (m *Manager) login(w http.ResponseWriter, r *http.Request, a Authenticator) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusUnsupportedMediaType, codeUnsupported,
			"send the login as a form: Content-Type application/x-www-form-urlencoded, fields principal and password")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "login form larger than 64 KiB")
			return
		}
		writeError(w, http.StatusBadRequest, codeBadRequest, "malformed login form: "+err.Error())
		return
	}
	principal, password := r.PostForm.Get("principal"), r.PostForm.Get("password")
	if principal == "" || password == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "the form fields principal and password are required")
		return
	}
	name, groups, err := a.BrowserLogin(r.Context(), principal, password, r.RemoteAddr)
	if err != nil {
		m.loginError(w, r, err)
		return
	}
	if err := m.start(w, r, name, groups); err != nil {
		m.log.ErrorContext(r.Context(), "starting a session", "user", name, "err", err)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the session could not be started; try again shortly")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// loginError answers a refused login.
func (m *Manager) loginError(w http.ResponseWriter, r *http.Request, err error) {
	var throttled interface{ RetryAfter() time.Duration }
	switch {
	case errors.Is(err, core.ErrDenied):
		writeError(w, http.StatusUnauthorized, codeUnauthorized, "invalid username or password")
	case errors.As(err, &throttled):
		secs := max(int((throttled.RetryAfter()+time.Second-1)/time.Second), 1)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, codeTooManyRequests, err.Error())
	case errors.Is(err, core.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the identity provider is unavailable; try again later")
	default:
		m.log.ErrorContext(r.Context(), "browser login", "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
	}
}

func (m *Manager) logout(w http.ResponseWriter, r *http.Request) {
	if err := m.End(w, r); err != nil {
		m.log.ErrorContext(r.Context(), "ending a session", "err", err)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the session could not be ended; try again shortly")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// End ends the session r's cookie names, if any, on every node, and tells
// the browser to forget the cookie (for a logout handler of its own, such
// as an OIDC logout that goes on to the provider).
func (m *Manager) End(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(m.cookie); err == nil && wellFormed(c.Value) {
		if err := m.deleteHash(r.Context(), hashID(c.Value)); err != nil {
			return err
		}
	}
	w.Header().Del(CSRFHeader)
	http.SetCookie(w, m.expiredCookie(r))
	return nil
}

// Start starts a session of username for the browser that sent r (after
// a login the caller checked itself, such as an OIDC callback): it sets
// the session cookie and the CSRF token header on w, and ends the session
// r's cookie named, if any, so that an id planted before the login is
// worth nothing after it.
func (m *Manager) Start(w http.ResponseWriter, r *http.Request, username string) error {
	return m.start(w, r, username, nil)
}

func (m *Manager) start(w http.ResponseWriter, r *http.Request, username string, groups []string) error {
	if username == "" {
		return errors.New("session: no user to start a session for")
	}
	if c, err := r.Cookie(m.cookie); err == nil && wellFormed(c.Value) {
		if err := m.deleteHash(r.Context(), hashID(c.Value)); err != nil {
			return err
		}
	}
	id, rec, err := m.create(r.Context(), username, groups)
	if err != nil {
		return err
	}
	http.SetCookie(w, m.newCookie(r, id))
	w.Header().Set(CSRFHeader, rec.csrf)
	return nil
}

// newCookie carries a session id: for the whole site, out of scripts'
// reach, not sent with cross-site subrequests or posts, and only over
// TLS when the browser reaches the server over TLS.
func (m *Manager) newCookie(r *http.Request, id string) *http.Cookie {
	return &http.Cookie{Name: m.cookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: m.secure || r.TLS != nil}
}

// expiredCookie tells the browser to forget its session cookie.
func (m *Manager) expiredCookie(r *http.Request) *http.Cookie {
	c := m.newCookie(r, "")
	c.MaxAge = -1
	return c
}
