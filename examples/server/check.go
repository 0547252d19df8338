package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/berthlabs/berth/registry"
)

// checkCmd runs "server check": a consistency check of a data directory. It
// prints a report on stdout and returns 0 when the store is consistent, 1
// when it found a problem or could not check, 2 on bad usage.
func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "./data", "data directory to check")
	sparse := fs.Bool("sparse-manifests", false, "references to content that is not stored are expected (mirrors)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: server check [-data dir] [-sparse-manifests]\n\n"+
			"Verifies that every manifest matches its digest and its references resolve,\n"+
			"every tag points at a manifest of its repository, every blob link has its blob\n"+
			"and every stored blob matches its digest. Exit status 0 when consistent, 1 otherwise.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "berth check:", err)
		return 1
	}
	if err := isDataDir(*dataDir); err != nil {
		return fail(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, *dataDir, log)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	if err := st.openRegistry(ctx, registry.WithLogger(log)); err != nil {
		return fail(err)
	}
	rep, err := st.reg.Check(ctx)
	if err != nil {
		return fail(err)
	}
	printReport(stdout, *dataDir, rep, *sparse)
	if !rep.OK(*sparse) {
		return 1
	}
	return 0
}

// isDataDir refuses a directory a server never ran on: checking it would
// create an empty store and call it consistent.
func isDataDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, dbFile)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not a berth data directory: no %s", dir, dbFile)
	} else if err != nil {
		return err
	}
	return nil
}

// printReport writes the counts, then each problem and missing reference.
func printReport(w io.Writer, dir string, rep *registry.CheckReport, sparse bool) {
	fmt.Fprintf(w, "berth check: %s\n", dir)
	for _, c := range []struct {
		name string
		n    int
	}{{"manifests", rep.Manifests}, {"tags", rep.Tags}, {"blob links", rep.BlobLinks}, {"blobs", rep.Blobs}} {
		fmt.Fprintf(w, "  %-12s %d\n", c.name+":", c.n)
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(items))
		for _, s := range items {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	list("problems", rep.Problems)
	if sparse {
		list("missing references, expected with -sparse-manifests", rep.Missing)
	} else {
		list("missing references", rep.Missing)
	}
	if rep.OK(sparse) {
		fmt.Fprintln(w, "OK")
		return
	}
	fmt.Fprintf(w, "FAILED: %d problem(s), %d missing reference(s)\n", len(rep.Problems), len(rep.Missing))
}
