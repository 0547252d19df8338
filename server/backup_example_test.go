package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/berthlabs/berth/server"
)

// Back up a data directory (online: a server may be serving from it),
// then rebuild a new data directory from the backup.
func ExampleBackup() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "berth-backup-example-")
	defer os.RemoveAll(tmp)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword = filepath.Join(tmp, "data"), "admin-password-1"
	srv, err := server.New(ctx, cfg, server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		panic(err)
	}
	defer srv.Close(ctx)

	rep, err := server.Backup(ctx, cfg, filepath.Join(tmp, "backup"))
	if err != nil {
		panic(err)
	}
	fmt.Println("blobs:", rep.Blobs, "new:", rep.NewBlobs)

	restored, err := server.Restore(ctx, filepath.Join(tmp, "backup"), filepath.Join(tmp, "restored"))
	if err != nil {
		panic(err)
	}
	fmt.Println("restored files:", restored.Files)
	// Output:
	// blobs: 0 new: 0
	// restored files: 2
}
