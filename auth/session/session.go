package session

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations/sqlite/*_sessions.sql migrations/postgres/*_sessions.sql
var migrations embed.FS

// Defaults of a Manager.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultLifetime    = 12 * time.Hour
	DefaultCookieName  = "sid"
)

// CSRFHeader carries a session's CSRF token: the Manager sets it on every
// response to a request with a valid session cookie, and a state-changing
// request made with the cookie must send it back. The name is Harbor's,
// which its web UI reads and sends.
const CSRFHeader = "X-Harbor-Csrf-Token"

// The paths Handler serves, as Harbor's web UI calls them.
const (
	LoginPath  = "/c/login"
	LogoutPath = "/c/log_out"
)

// Manager keeps browser sessions in the shared database: it starts them
// (Start, the login handler), ends them (the logout handler, EndUser,
// Purge), and tells the requests they authenticate (Middleware, Resolve).
// It is safe for concurrent use, and any number of processes sharing the
// database may serve the same sessions.
type Manager struct {
	db       *sqldb.DB
	idle     time.Duration
	lifetime time.Duration
	cookie   string
	secure   bool // the external URL is https
	now      func() time.Time
	log      *slog.Logger
}

// Option configures a Manager.
type Option func(*Manager)

// WithIdleTimeout ends a session unused for d (default
// DefaultIdleTimeout).
func WithIdleTimeout(d time.Duration) Option { return func(m *Manager) { m.idle = d } }

// WithLifetime ends a session d after it started, however busy
// (default DefaultLifetime).
func WithLifetime(d time.Duration) Option { return func(m *Manager) { m.lifetime = d } }

// WithCookieName names the session cookie (default DefaultCookieName).
func WithCookieName(name string) Option { return func(m *Manager) { m.cookie = name } }

// WithExternalURL is where browsers reach the server: an https URL marks
// the cookie Secure even when TLS ends at a proxy in front of the server
// (it is Secure on requests that arrive over TLS in any case).
func WithExternalURL(u string) Option {
	return func(m *Manager) {
		if p, err := url.Parse(u); err == nil && p.Scheme == "https" {
			m.secure = true
		}
	}
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(m *Manager) { m.log = l } }

// New returns a Manager over db, applying its migrations.
func New(ctx context.Context, db *sqldb.DB, opts ...Option) (*Manager, error) {
	if db == nil {
		return nil, errors.New("session: a database is required")
	}
	m := &Manager{db: db, idle: DefaultIdleTimeout, lifetime: DefaultLifetime, cookie: DefaultCookieName,
		now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(m)
	}
	switch {
	case m.idle <= 0 || m.lifetime <= 0:
		return nil, fmt.Errorf("session: idle timeout (%v) and lifetime (%v) must be positive", m.idle, m.lifetime)
	case m.cookie == "":
		return nil, errors.New("session: the cookie needs a name")
	}
	if err := db.MigrateDialect(ctx, "auth.sessions", migrations); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return m, nil
}
