package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/berthlabs/berth/server"
)

// backupCmd runs "server backup --to DIR [flags]": an online backup of
// the data directory the flags name (server.Backup).
func backupCmd(args []string, stdout, stderr io.Writer) int {
	cfg, to, code, ok := loadConfigDir("server backup", "to", "the backup directory; a second backup into it copies only new blobs", args, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep, err := server.Backup(ctx, cfg, to, server.WithBackupLogger(log))
	if err != nil {
		fmt.Fprintln(stderr, "berth", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup %s written to %s: %d blobs (%d bytes): %d new (%d bytes), %d already there; %d files; %d snapshot(s)\n",
		rep.Generation, to, rep.Blobs, rep.BlobBytes, rep.NewBlobs, rep.NewBytes, rep.ReusedBlobs, rep.Files, rep.Snapshots)
	for _, n := range rep.Notes {
		fmt.Fprintln(stdout, "  note:", n)
	}
	return 0
}

// restoreCmd runs "server restore --from DIR --data NEW" (server.Restore).
func restoreCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "backup directory written by server backup")
	data := fs.String("data", "", "new data directory to create (must not exist, or be empty)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nflags:\n")
		fs.PrintDefaults()
	}
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		return 2
	case *from == "" || *data == "" || fs.NArg() > 0:
		fmt.Fprintln(stderr, "berth restore: usage: server restore -from DIR -data NEW")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := server.Restore(ctx, *from, *data)
	if err != nil {
		fmt.Fprintln(stderr, "berth", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored backup %s (taken %s by berth %s) into %s: %d blobs (%d bytes), %d files\n",
		rep.Generation, rep.Created.Format("2006-01-02 15:04:05Z"), rep.BerthVersion, *data, rep.Blobs, rep.BlobBytes, rep.Files)
	fmt.Fprintf(stdout, "verify with: server check -data %s\n", *data)
	return 0
}
