package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/session"
)

// SessionsConfig configures the web UI's browser sessions (Harbor's
// /c/login and /c/log_out), kept in the database so that every node of a
// scale-out installation knows them.
type SessionsConfig struct {
	IdleTimeout time.Duration `yaml:"idle_timeout" help:"a browser session unused this long ends"`
	Lifetime    time.Duration `yaml:"lifetime" help:"a browser session ends this long after the login, however busy"`
}

// sessionPurgeEvery is how often ended sessions are deleted.
const sessionPurgeEvery = 10 * time.Minute

// openSessions opens the session store and deletes ended sessions
// until ctx ends.
func openSessions(ctx context.Context, st *store, cfg Config, log *slog.Logger) (*session.Manager, error) {
	m, err := session.New(ctx, st.db, session.WithIdleTimeout(cfg.Sessions.IdleTimeout),
		session.WithLifetime(cfg.Sessions.Lifetime), session.WithExternalURL(cfg.ExternalURL), session.WithLogger(log))
	if err != nil {
		return nil, err
	}
	go func() {
		t := time.NewTicker(sessionPurgeEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n, err := m.Purge(ctx); err != nil && ctx.Err() == nil {
				log.Warn("purging ended browser sessions", "err", err)
			} else if n > 0 {
				log.Debug("purged ended browser sessions", "count", n)
			}
		}
	}()
	return m, nil
}

// endSessions ends the browser sessions of a deleted account, so that a
// new account of the same name inherits none.
func (id *identity) endSessions(ctx context.Context, c auth.Change, log *slog.Logger) {
	if id.sessions == nil || c.Kind != auth.ChangeUserDelete {
		return
	}
	if _, err := id.sessions.EndUser(context.WithoutCancel(ctx), c.Name); err != nil {
		// The Gatekeeper refuses a session whose account is gone anyway.
		log.Error("ending the sessions of a deleted user", "user", c.Name, "err", err)
	}
}

// mountSessions serves login and logout; a page of another site may not
// log a browser in (the cross-site guard).
func (s *Server) mountSessions(mux *http.ServeMux, cfg Config) {
	h := api.CrossSiteGuard(s.id.sessions.Handler(s.id.gk), api.GuardExternalURL(cfg.ExternalURL),
		api.GuardAllowedOrigins(cfg.AllowedOrigins...))
	mux.Handle(session.LoginPath, h)
	mux.Handle(session.LogoutPath, h)
}

// withSessions authenticates browser requests by their session cookie,
// refusing state changes without the CSRF token (with auth on).
func (s *Server) withSessions(h http.Handler) http.Handler {
	if s.id == nil {
		return h
	}
	return s.id.sessions.Middleware(h)
}

// Sessions is the browser session manager (nil when auth is off): a
// feature that logs users in by other means (OIDC) starts their sessions
// with its Start.
func (a *Assembly) Sessions() *session.Manager {
	if a.id == nil {
		return nil
	}
	return a.id.sessions
}
