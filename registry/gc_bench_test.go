package registry

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

// BenchmarkGCCostFollowsGarbage runs garbage collection over stores of
// 100,000 and 1,000,000 blobs, each time over 10,000 fresh garbage blobs
// (1 % of the larger store). Each store is real: SQLite on disk with every
// blob linked and referenced by manifests (ten blobs each), and every blob
// a file in the filesystem driver's layout. A run's time should follow the
// garbage, not the store: compare the two sub-benchmarks' ns/op (the mean
// of the runs; each run's time is logged).
//
//	go test ./registry -run '^$' -bench GCCostFollowsGarbage -benchtime 5x -timeout 60m
//
// Building the million-blob store takes a few minutes, once per
// sub-benchmark; each run then gets new garbage (queued, as a deletion
// queues it) in a store at rest, and the timer covers only the collection.
func BenchmarkGCCostFollowsGarbage(b *testing.B) {
	const garbage = 10_000
	for _, live := range []int{100_000 - garbage, 1_000_000 - garbage} {
		// The testing package calls a sub-benchmark more than once (b.N=1
		// first): the store is built once, in the parent's directory.
		dir, cleanups := b.TempDir(), b.Cleanup
		var s *syntheticStore
		next := live
		b.Run(fmt.Sprintf("blobs=%d", live+garbage), func(b *testing.B) {
			b.StopTimer()
			if s == nil {
				s = newSyntheticStore(b, dir, cleanups)
				s.add(b, 0, live, false)
			}
			for i := range b.N {
				s.add(b, next, garbage, true)
				next += garbage
				s.rest(b)
				start := time.Now()
				b.StartTimer()
				res, err := s.rg.CollectGarbage(context.Background(), GCOptions{})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.BlobsDeleted != garbage {
					b.Fatalf("freed %d blobs, want %d (%+v)", res.BlobsDeleted, garbage, res)
				}
				b.Logf("run %d: %s", i+1, time.Since(start).Round(time.Millisecond))
				b.ReportMetric(float64(res.BlobsDeleted), "blobs-freed/op")
			}
		})
	}
}

// syntheticStore is a registry on disk that a benchmark fills with live
// blobs (referenced by manifests) and garbage (linked, unreferenced and
// queued since long ago, as a manifest's deletion leaves it).
type syntheticStore struct {
	dir string
	db  *sqldb.DB
	rg  *Registry
}

// newSyntheticStore opens an empty store in dir; cleanup (the owning
// benchmark's) closes it.
func newSyntheticStore(b *testing.B, dir string, cleanup func(func())) *syntheticStore {
	b.Helper()
	ctx := context.Background()
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "berth.db"))
	if err != nil {
		b.Fatal(err)
	}
	cleanup(func() { db.Close() })
	blobs, err := filesystem.New(filepath.Join(dir, "storage"))
	if err != nil {
		b.Fatal(err)
	}
	rg, err := New(ctx, blobs, db)
	if err != nil {
		b.Fatal(err)
	}
	return &syntheticStore{dir: dir, db: db, rg: rg}
}

// blob writes the i-th blob's file and returns its digest.
func (s *syntheticStore) blob(b *testing.B, i int) digest.Digest {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(i))
	d := digest.FromBytes(buf[:])
	p := filepath.Join(s.dir, "storage", "blobs", "sha256", d.Encoded()[:2], d.Encoded())
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, buf[:], 0o600); err != nil {
		b.Fatal(err)
	}
	return d
}

// add stores blobs first..first+n-1: garbage, or live and referenced by a
// manifest per ten blobs.
func (s *syntheticStore) add(b *testing.B, first, n int, garbage bool) {
	b.Helper()
	ctx := context.Background()
	old := nowUnix(time.Now().Add(-24 * time.Hour))
	const perManifest = 10
	const batch = 20_000
	for start := first; start < first+n; start += batch {
		err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
			if err := ensureRepo(ctx, tx, "lib/app", old); err != nil {
				return err
			}
			for i := start; i < min(start+batch, first+n); i++ {
				d := s.blob(b, i).String()
				if _, err := tx.Exec(ctx, `INSERT INTO registry_repo_blobs (repo, digest, size, created_at) VALUES (?, ?, 8, ?)`,
					"lib/app", d, old); err != nil {
					return err
				}
				if garbage {
					if _, err := tx.Exec(ctx, `INSERT INTO registry_gc_blobs (digest, since) VALUES (?, ?)`, d, old); err != nil {
						return err
					}
					continue
				}
				m := fmt.Sprintf("sha256:%064x", i/perManifest)
				if i%perManifest == 0 {
					if _, err := tx.Exec(ctx, `INSERT INTO registry_manifests (digest, media_type, size, content, created_at)
						VALUES (?, 'application/vnd.oci.image.manifest.v1+json', 2, '{}', ?)`, m, old); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, `INSERT INTO registry_repo_manifests (repo, digest, created_at) VALUES ('lib/app', ?, ?)`,
						m, old); err != nil {
						return err
					}
				}
				if _, err := tx.Exec(ctx, `INSERT INTO registry_manifest_refs (parent, child, kind) VALUES (?, ?, 'blob')`, m, d); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// rest folds the write-ahead log into the database and writes the new
// files out, so a run does not pay for the building's checkpoint or
// write-back.
func (s *syntheticStore) rest(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	pool, err := s.db.NewPool(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	syscall.Sync()
}
