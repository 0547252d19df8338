package session

import (
	"context"
	"crypto/subtle"
	"mime"
	"net/http"
)

// FormTokenField is the form field a plain HTML form (no script to set
// headers) sends the CSRF token in, instead of the CSRFHeader header.
const FormTokenField = "csrf_token"

// maxFormBody bounds a form the middleware parses for its token.
const maxFormBody = 1 << 20

// sessionKey carries the session Middleware found for a request.
type sessionKey struct{}

// Middleware authenticates requests by their session cookie, for handlers
// that ask Resolve, and guards them against cross-site request forgery:
//
//   - a request with Authorization (Basic, Bearer) is not a session's:
//     it passes untouched, whatever cookie it carries;
//   - a request with a live session gets the session's CSRF token in the
//     X-Harbor-Csrf-Token response header;
//   - a request with a live session that may change state (any method but
//     GET, HEAD, OPTIONS and TRACE) is refused 403 unless it sends that
//     token back in the same header (or, for an URL-encoded form, in the
//     FormTokenField field), before next sees it (logging in and out need
//     no token);
//   - a cookie of no live session (ended, expired, forged) is expired in
//     the answer, and the request goes on as anonymous.
//
// Only requests that went through Middleware are authenticated by a
// session: Resolve finds none on the others, so a handler the server
// forgot to wrap never trusts a cookie without its CSRF check.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(m.cookie)
		if err != nil || r.Header.Get("Authorization") != "" {
			next.ServeHTTP(w, r)
			return
		}
		rec, err := m.lookup(r.Context(), c.Value)
		if err != nil {
			m.log.ErrorContext(r.Context(), "session lookup", "err", err)
			writeError(w, http.StatusServiceUnavailable, codeUnavailable,
				"the browser session cannot be checked right now; try again shortly")
			return
		}
		if rec == nil {
			http.SetCookie(w, m.expiredCookie(r))
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set(CSRFHeader, rec.csrf)
		if changesState(r.Method) && !m.exempt(r) && !sameToken(sentToken(w, r), rec.csrf) {
			writeError(w, http.StatusForbidden, codeForbidden, "CSRF token invalid: a request that changes state "+
				"with a browser session must send the "+CSRFHeader+" header the server's answers carry")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, rec)))
	})
}

// Resolve names the user of r's browser session and the directory groups
// they logged in with; username is "" when r has no live session, or
// did not go through Middleware. It implements auth.SessionResolver.
func (m *Manager) Resolve(r *http.Request) (username string, groups []string, err error) {
	rec, ok := r.Context().Value(sessionKey{}).(*record)
	if !ok {
		return "", nil, nil
	}
	return rec.username, rec.groups, nil
}

// changesState tells whether a request of method may change state.
func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// exempt are the requests that need no CSRF token: logging in (which
// replaces the session) and out (which GET does too).
func (m *Manager) exempt(r *http.Request) bool {
	return r.URL.Path == LoginPath || r.URL.Path == LogoutPath
}

// sentToken is the CSRF token r carries: its header, or the form field of
// an URL-encoded form (parsed here, at most maxFormBody bytes; handlers
// then find it in r.PostForm).
func sentToken(w http.ResponseWriter, r *http.Request) string {
	if t := r.Header.Get(CSRFHeader); t != "" {
		return t
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return ""
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get(FormTokenField)
}

// sameToken compares in constant time.
func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
