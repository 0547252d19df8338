package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
)

// Check verifies the store cfg names (the data directory, or the shared
// database and bucket of a scale-out installation): every manifest
// matches its digest and its references resolve, every tag points at a
// manifest of its repository, every blob link has its blob and every
// stored blob matches its digest. It writes a report to w and returns
// whether the store is consistent (with sparse, references to content
// that is not stored are expected, as for mirrors). On a data directory
// it takes the directory's lock, so it refuses to run beside a server; a
// shared store is best checked while no node writes (uploads in flight
// are not problems, but a push between two of Check's reads can be).
func Check(ctx context.Context, cfg Config, sparse bool, w io.Writer, log *slog.Logger) (bool, error) {
	if err := isDataDir(cfg); err != nil {
		return false, err
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return false, err
	}
	defer st.Close()
	if err := st.openRegistry(ctx, registry.WithLogger(log)); err != nil {
		return false, err
	}
	rep, err := st.reg.Check(ctx)
	if err != nil {
		return false, err
	}
	if !sparse {
		// Proxy cache projects hold indexes and images whose children
		// and layers are fetched when pulled: missing references there
		// are expected.
		if sparse, err = hasProxyProjects(ctx, st); err != nil {
			return false, err
		}
	}
	printReport(w, storeName(cfg), rep, sparse)
	return rep.OK(sparse), nil
}

// RequeueGarbage queues, in a stopped server's store, every blob
// and untagged manifest nothing references and every blob file no
// repository links, for the next garbage collection run: the repair for a
// store restored from a backup or a lost queue (registry.MarkGarbage). It
// returns how many entries it queued.
func RequeueGarbage(ctx context.Context, cfg Config, log *slog.Logger) (int, error) {
	if err := isDataDir(cfg); err != nil {
		return 0, err
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if err := st.openRegistry(ctx, registry.WithLogger(log)); err != nil {
		return 0, err
	}
	return st.reg.MarkGarbage(ctx)
}

// isDataDir refuses a data directory a server never ran on: checking it
// would create an empty store and call it consistent.
func isDataDir(cfg Config) error {
	if cfg.shared() {
		return nil
	}
	dir := cfg.DataDir
	if _, err := os.Stat(filepath.Join(dir, dbFile)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is not a berth data directory: no %s", dir, dbFile)
	} else if err != nil {
		return err
	}
	return nil
}

// storeName names the checked store in the report, without credentials.
func storeName(cfg Config) string {
	if !cfg.shared() {
		return cfg.DataDir
	}
	name := "shared database"
	if cfg.Storage.S3.Bucket != "" {
		name += ", s3 bucket " + cfg.Storage.S3.Bucket
	}
	return name
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

func hasProxyProjects(ctx context.Context, st *store) (bool, error) {
	projects, err := project.NewStore(ctx, st.db)
	if err != nil {
		return false, err
	}
	_, found, err := findProject(ctx, projects, func(p project.Project) bool { return p.Metadata.RegistryID != 0 })
	return found, err
}
