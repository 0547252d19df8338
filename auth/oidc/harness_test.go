package oidc

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/internal/oidctest"
	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/sqldb"
)

var pg pgtest.Shared

func TestMain(m *testing.M) {
	// The example provider logs every request at INFO to the default
	// logger.
	slog.SetLogLoggerLevel(slog.LevelWarn)
	os.Exit(pg.Run(m))
}

// onEngines runs fn on SQLite (in memory) and PostgreSQL.
func onEngines(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := sqldb.OpenSQLiteMemory(t.Context())
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		fn(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db, err := sqldb.OpenPostgres(t.Context(), pg.Schema(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		fn(t, db)
	})
}

func memDB(t *testing.T) *sqldb.DB {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// clock is a settable time source.
type clock struct{ ns atomic.Int64 }

func newClock() *clock                   { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeSessions records the sessions the callback starts and sets a
// cookie, as the session manager would.
type fakeSessions struct {
	mu      sync.Mutex
	started []string
}

func (f *fakeSessions) Start(w http.ResponseWriter, _ *http.Request, username string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, username)
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: "session-of-" + username, Path: "/", HttpOnly: true})
	return nil
}

func (f *fakeSessions) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.started...)
}

// rp is berth's side: the Service on an httptest server, over real user
// and link stores, logging in at a real provider.
type rp struct {
	t        *testing.T
	srv      *httptest.Server
	idp      *oidctest.Provider
	svc      *Service
	users    *auth.Users
	links    *Links
	sessions *fakeSessions
	clock    *clock
	key      []byte
}

func newRP(t *testing.T, db *sqldb.DB, edit func(*Config)) *rp {
	t.Helper()
	r := &rp{t: t, sessions: &fakeSessions{}, clock: newClock(), key: make([]byte, seal.KeySize)}
	_, _ = rand.Read(r.key)
	var h http.Handler
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { h.ServeHTTP(w, req) }))
	t.Cleanup(r.srv.Close)
	r.idp = oidctest.Start(t, r.srv.URL+CallbackPath)
	ctx := t.Context()
	var err error
	r.users, err = auth.NewUsers(ctx, db, auth.WithHashParams(auth.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	require.NoError(t, err)
	sealer, err := seal.New(r.key)
	require.NoError(t, err)
	r.links, err = NewLinks(ctx, db, sealer, r.clock.now)
	require.NoError(t, err)
	cfg := Config{Issuer: r.idp.Issuer(), ClientID: oidctest.ClientID, ClientSecret: oidctest.ClientSecret,
		RedirectURL: r.srv.URL + CallbackPath, GroupsClaim: "groups", AdminGroup: "admins", AutoOnboard: true}
	if edit != nil {
		edit(&cfg)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	r.svc, err = New(cfg, r.users, r.links, r.sessions, r.key, WithClock(r.clock.now), WithLogger(log))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/c/oidc/", r.svc.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) { _, _ = io.WriteString(w, "page "+req.URL.Path) })
	h = mux
	return r
}

// browser is a client with a cookie jar that follows redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// startLogin follows /c/oidc/login to the provider's login form and
// returns the auth request's id.
func (r *rp) startLogin(c *http.Client, query string) string {
	r.t.Helper()
	resp, err := c.Get(r.srv.URL + LoginPath + query)
	require.NoError(r.t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(r.t, http.StatusOK, resp.StatusCode, string(body))
	id := resp.Request.URL.Query().Get("authRequestID")
	require.NotEmpty(r.t, id, "ended on %s", resp.Request.URL)
	return id
}

// submit posts the provider's login form; the client follows the
// redirects back through the callback.
func (r *rp) submit(c *http.Client, id, username, password string) (*http.Response, string) {
	r.t.Helper()
	resp, body, err := r.idp.SubmitLogin(c, id, username, password)
	require.NoError(r.t, err)
	return resp, body
}

// login is a whole browser login.
func (r *rp) login(c *http.Client, username, password string) (*http.Response, string) {
	r.t.Helper()
	return r.submit(c, r.startLogin(c, ""), username, password)
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
