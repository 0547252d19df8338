package server

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/ui"
)

// mountUI serves the web portal at cfg.UI.Path (with auth on). Its pages
// call the API through inner, the server's own handler without the
// request log, so each page is one logged request.
func (s *Server) mountUI(mux *http.ServeMux, inner http.Handler, cfg Config, log *slog.Logger) error {
	if s.id == nil || !cfg.UI.Enabled {
		return nil
	}
	opts := []ui.Option{ui.WithBasePath(cfg.UI.Path), ui.WithLogger(log)}
	if cfg.DataDir != "" {
		file := filepath.Join(cfg.DataDir, initialAdminPasswordFile)
		opts = append(opts, ui.WithFirstRun(func() bool { _, err := os.Stat(file); return err == nil }))
	}
	portal, err := ui.New(inner, opts...)
	if err != nil {
		return err
	}
	h := api.CrossSiteGuard(portal, api.GuardExternalURL(cfg.ExternalURL), api.GuardAllowedOrigins(cfg.AllowedOrigins...))
	base := strings.TrimRight("/"+strings.Trim(cfg.UI.Path, "/"), "/")
	mux.Handle(base+"/", h)
	if base != "" {
		mux.Handle(base, h)
	}
	return nil
}
