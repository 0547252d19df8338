// Package session keeps browser sessions for a registry's web UI, as
// Harbor's do: POST /c/login with a form (principal, password) starts
// one, GET or POST /c/log_out ends it. The browser holds a random 256-bit
// id in an HttpOnly, SameSite=Lax cookie (Secure over TLS); the database
// holds only the id's SHA-256, with the user, a CSRF token and the
// session's times, so that every server process sharing the database
// (SQLite embedded, PostgreSQL scale-out) sees a login, a logout and an
// expiry at once. A session ends after an idle timeout or an absolute
// lifetime, whichever comes first.
//
// A session is a browser's credential, sent by the browser with any
// request a page of another site makes it send. Middleware therefore
// refuses a state-changing request authenticated by the cookie unless it
// carries the session's CSRF token in the X-Harbor-Csrf-Token header,
// which the server sends on every answer to the session (a page of
// another site cannot read it). Requests with an Authorization header
// are not the session's and pass untouched.
//
//	m, err := session.New(ctx, db, session.WithExternalURL("https://registry.example.com"))
//	gk := auth.NewGatekeeper(..., auth.WithSessions(m)) // the API's caller may come from the cookie
//	mux.Handle("/c/", m.Handler(gk))                    // login checked by the Gatekeeper
//	srv := &http.Server{Handler: m.Middleware(mux)}     // CSRF check; Resolve sees only these requests
package session
