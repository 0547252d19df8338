//go:build goexperiment.jsonv2

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/trivy"
	"github.com/berthlabs/berth/server"
)

// builtinScanner is Trivy (Config.Trivy), opened in the background so
// that a missing vulnerability DB never stops the server.
func builtinScanner(ctx context.Context, a *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
	cfg := a.Config()
	if !cfg.Trivy.Enabled {
		return "", nil, nil, nil
	}
	dir := filepath.Join(cfg.DataDir, "trivy")
	if cfg.DataDir == "" {
		// A scale-out node with no data directory: the DB and cache are
		// node-local, and belong in the user's cache, not the working
		// directory.
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "berth", "trivy")
	}
	opts := []trivy.Option{
		trivy.WithCacheDir(filepath.Join(dir, "cache")),
		trivy.WithDBDir(filepath.Join(dir, "db")),
		trivy.WithLogger(a.Logger().With("component", "trivy")),
		trivy.WithUpdateSchedule(cfg.Trivy.DBUpdate),
	}
	switch {
	case cfg.Trivy.DBFromBerth != "":
		repo, tag, ok := strings.Cut(cfg.Trivy.DBFromBerth, ":")
		if !ok || repo == "" || tag == "" {
			return "", nil, nil, fmt.Errorf("trivy.db_from_berth %q: want repository:tag", cfg.Trivy.DBFromBerth)
		}
		tr := a.Registry().Transport(registry.SystemActor("trivy vulnerability DB update"))
		opts = append(opts, trivy.WithDBRepository("berth.internal/"+repo+":"+tag, tr, true))
	case cfg.Trivy.DBRepository != "":
		opts = append(opts, trivy.WithDBRepository(cfg.Trivy.DBRepository, nil, false))
	}
	sc := trivy.OpenInBackground(a.Context(), cfg.Trivy.Retry, a.Logger(), opts...)
	a.AddCloser(func() { _ = sc.Close() })
	return "Trivy", sc, sc, nil
}
