package ui

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
)

//go:embed templates static i18n
var assets embed.FS

// UI serves the portal. Build it with New.
type UI struct {
	api   http.Handler
	base  string // URL path prefix, "" for the root; never ends in "/"
	log   *slog.Logger
	pages map[string]*pageTemplate
	cat   *catalog
	mux   *http.ServeMux

	firstRun func() bool // the initial admin password is still unchanged
}

// Option configures a UI.
type Option func(*UI)

// WithBasePath serves the portal under path (default "/"): its links all
// start with it, so a reverse proxy can publish it under a sub-path that
// it passes on unchanged.
func WithBasePath(path string) Option {
	return func(u *UI) { u.base = strings.TrimRight("/"+strings.Trim(path, "/"), "/") }
}

// WithFirstRun tells the login page whether the server still keeps a
// generated initial admin password (where to find it is shown).
func WithFirstRun(f func() bool) Option { return func(u *UI) { u.firstRun = f } }

// WithLogger logs failures of the API calls behind the pages.
func WithLogger(l *slog.Logger) Option { return func(u *UI) { u.log = l } }

// New builds the portal over api, a handler that serves berth's
// management API (/api/v2.0), browser sessions (/c/login) and the
// session middleware, as server.Server.Handler does.
func New(api http.Handler, opts ...Option) (*UI, error) {
	u := &UI{api: api, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(u)
	}
	var err error
	if u.cat, err = loadCatalog(assets); err != nil {
		return nil, err
	}
	if u.pages, err = parsePages(assets); err != nil {
		return nil, err
	}
	u.mux = http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	u.mux.Handle("GET "+u.base+"/static/", http.StripPrefix(u.base+"/static/", staticFiles(static)))
	u.routes()
	return u, nil
}

// ServeHTTP serves the portal's pages under its base path.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; "+
		"script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	u.mux.ServeHTTP(w, r)
}

// staticFiles serves the embedded assets, cached for a day (their names
// do not change between versions, so not longer).
func staticFiles(fsys fs.FS) http.Handler {
	h := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}
