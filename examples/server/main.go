// Command server is berth's reference registry server: the server package
// with its configuration from a file, the environment and flags, and the
// Trivy scanner plugged in (in builds with GOEXPERIMENT=jsonv2).
//
//	go run ./examples/server                          # 127.0.0.1:5000, data under ./data
//	go run ./examples/server -config berth.yaml       # see berth.example.yaml
//	go run ./examples/server -addr :5443 -tls-self-signed
//	go run ./examples/server config print [flags]     # the effective configuration, secrets masked
//	go run ./examples/server check -data /var/lib/berth
//	go run ./examples/server migrate -config berth.yaml  # scale-out: schema first, then roll the nodes
//
// It serves until SIGINT or SIGTERM, then shuts down gracefully. The check
// subcommand verifies a stopped server's data directory: exit status 0
// when consistent, 1 otherwise.
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
	"strings"
	"syscall"

	"github.com/berthlabs/berth/server"
)

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs the command line args (without the program name) and returns the
// process's exit status: 0 success, 1 failure, 2 bad usage.
func cli(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && args[0] == "check":
		return checkCmd(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "backup":
		return backupCmd(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "restore":
		return restoreCmd(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "selftest":
		return selftestCmd(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "migrate-to":
		return migrateToCmd(args[1:], stdout, stderr)
	case len(args) > 0 && args[0] == "migrate":
		return serveCmd("server migrate", args[1:], stderr)
	case len(args) > 1 && args[0] == "config" && args[1] == "print":
		return configPrintCmd(args[2:], stdout, stderr)
	}
	return serveCmd("server", args, stderr)
}

const usage = `usage:
  server [flags]                                serve the registry
  server config print [flags]                   print the effective configuration (secrets masked)
  server migrate [flags]                        bring the database up to this binary's schema, then exit
                                                (before a rolling upgrade of scale-out nodes)
  server migrate-to -from DIR [flags]           move a stopped embedded server's data directory DIR into
                                                the scale-out store the flags name (database.url,
                                                storage.s3.*, secret_key_file = DIR/secret.key)
  server check [flags] [-requeue-garbage]       verify a stopped server's store: -data dir, or the
                                                database.url and storage.s3 of scale-out (and queue
                                                what nothing references for the next GC)
  server selftest -url URL [-username U] [-password-file F] [-repository R] [-insecure]
                                                push a tiny image, pull it back, compare and delete it
                                                (the Helm chart's test; password also from $BERTH_SELFTEST_PASSWORD)
  server backup -to DIR [flags]                 online backup of the embedded data directory (-data) into DIR;
                                                again into the same DIR copies only new blobs (docs/backup.md)
  server restore -from DIR -data NEW            rebuild a data directory NEW from a backup, verified
Configuration comes from -config FILE, then BERTH_<KEY> variables, then flags.
`

// loadConfig parses a command line into a configuration; ok false means
// exit with code.
func loadConfig(name string, args []string, stderr io.Writer) (cfg server.Config, code int, ok bool) {
	cfg, _, code, ok = loadConfigDir(name, "", "", args, stderr)
	return cfg, code, ok
}

// loadConfigDir is loadConfig with one more flag, -dirFlag, naming a
// directory the command requires (with dirFlag "", none).
func loadConfigDir(name, dirFlag, dirHelp string, args []string, stderr io.Writer) (cfg server.Config, dir string, code int, ok bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if dirFlag != "" {
		fs.StringVar(&dir, dirFlag, "", dirHelp)
	}
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nflags:\n")
		fs.PrintDefaults()
	}
	cfg, err := server.LoadConfig(fs, args, os.Environ())
	switch {
	case errors.Is(err, flag.ErrHelp):
		return cfg, "", 0, false
	case err != nil:
		fmt.Fprintf(stderr, "berth %s: %v\n", strings.TrimPrefix(name, "server "), err)
		return cfg, "", 2, false
	case dirFlag != "" && dir == "":
		fmt.Fprintf(stderr, "berth %s: -%s DIR (%s) is required\n", strings.TrimPrefix(name, "server "), dirFlag, dirHelp)
		return cfg, "", 2, false
	}
	return cfg, dir, 0, true
}

// serveCmd serves, or with name "server migrate" brings the database up to
// this binary's schema and exits.
func serveCmd(name string, args []string, stderr io.Writer) int {
	cfg, code, ok := loadConfig(name, args, stderr)
	if !ok {
		return code
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintln(stderr, "berth: log_level:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := []server.Option{server.WithLogger(log), server.WithBuiltinScanner(builtinScanner)}
	if name == "server migrate" {
		if err := server.Migrate(ctx, cfg, opts...); err != nil {
			log.Error("berth migrate failed", "err", err)
			return 1
		}
		log.Info("the database is at this binary's schema")
		return 0
	}
	srv, err := server.New(ctx, cfg, opts...)
	if err != nil {
		log.Error("berth did not start", "err", err)
		return 1
	}
	defer srv.Close(context.Background())
	if err := srv.Run(ctx); err != nil {
		log.Error("berth stopped", "err", err)
		return 1
	}
	return 0
}

func migrateToCmd(args []string, stdout, stderr io.Writer) int {
	cfg, from, code, ok := loadConfigDir("server migrate-to", "from", "the stopped embedded server's data directory", args, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep, err := server.MigrateTo(ctx, from, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "berth migrate-to:", err)
		return 1
	}
	fmt.Fprintf(stdout, "moved %d tables (%d rows) and %d blobs (%d bytes)\n", rep.Tables, rep.Rows, rep.Blobs, rep.BlobBytes)
	for _, s := range rep.Skipped {
		fmt.Fprintln(stdout, "  not moved:", s)
	}
	fmt.Fprintln(stdout, "verify with: server check and the same flags")
	return 0
}

func configPrintCmd(args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := loadConfig("server config print", args, stderr)
	if !ok {
		return code
	}
	if err := cfg.WriteYAML(stdout); err != nil {
		fmt.Fprintln(stderr, "berth:", err)
		return 1
	}
	return 0
}

func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	requeue := fs.Bool("requeue-garbage", false, "also queue for the next garbage collection whatever nothing references, "+
		"reading the whole store (after a restore from backup, or a lost queue)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nflags:\n")
		fs.PrintDefaults()
	}
	cfg, err := server.LoadConfig(fs, args, os.Environ())
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintln(stderr, "berth check:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ok, err := server.Check(ctx, cfg, cfg.SparseManifests, stdout, log)
	if err != nil {
		fmt.Fprintln(stderr, "berth check:", err)
		return 1
	}
	if *requeue {
		n, err := server.RequeueGarbage(ctx, cfg, log)
		if err != nil {
			fmt.Fprintln(stderr, "berth check:", err)
			return 1
		}
		fmt.Fprintf(stdout, "queued for garbage collection: %d\n", n)
	}
	if !ok {
		return 1
	}
	return 0
}
