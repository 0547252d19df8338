package registry

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/filesystem"
)

// BenchmarkGCCostFollowsGarbage runs garbage collection over stores of
// 100,000 and 1,000,000 blobs with the same 10,000 garbage blobs (1 % of
// the larger store). Each store is real: SQLite on disk with every blob
// linked and referenced by manifests (ten blobs each), and every blob a
// file in the filesystem driver's layout. A run's time should follow the
// garbage, not the store: compare the two sub-benchmarks' ns/op.
//
//	go test ./registry -run '^$' -bench GCCostFollowsGarbage -benchtime 1x -timeout 30m
//
// Building the million-blob store takes a few minutes; the timer covers
// only the collection.
func BenchmarkGCCostFollowsGarbage(b *testing.B) {
	const garbage = 10_000
	for _, live := range []int{100_000 - garbage, 1_000_000 - garbage} {
		b.Run(fmt.Sprintf("blobs=%d", live+garbage), func(b *testing.B) {
			b.StopTimer()
			for range b.N {
				rg := syntheticStore(b, live, garbage)
				b.StartTimer()
				res, err := rg.CollectGarbage(context.Background(), GCOptions{})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.BlobsDeleted != garbage {
					b.Fatalf("freed %d blobs, want %d (%+v)", res.BlobsDeleted, garbage, res)
				}
				b.ReportMetric(float64(res.BlobsDeleted), "blobs-freed/op")
			}
		})
	}
}

// syntheticStore builds a registry on disk with live referenced blobs and
// garbage blobs whose manifest was deleted long ago (queued, as a
// deletion queues them).
func syntheticStore(b *testing.B, live, garbage int) *Registry {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "berth.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	blobs, err := filesystem.New(filepath.Join(dir, "storage"))
	if err != nil {
		b.Fatal(err)
	}
	rg, err := New(ctx, blobs, db)
	if err != nil {
		b.Fatal(err)
	}
	old := nowUnix(time.Now().Add(-24 * time.Hour))
	blobAt := func(i int) digest.Digest {
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(i))
		d := digest.FromBytes(buf[:])
		p := filepath.Join(dir, "storage", "blobs", "sha256", d.Encoded()[:2], d.Encoded())
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, buf[:], 0o600); err != nil {
			b.Fatal(err)
		}
		return d
	}
	const perManifest = 10
	const batch = 20_000
	for start := 0; start < live+garbage; start += batch {
		err := db.Write(ctx, func(tx *sqldb.Tx) error {
			if err := ensureRepo(ctx, tx, "lib/app", old); err != nil {
				return err
			}
			for i := start; i < min(start+batch, live+garbage); i++ {
				d := blobAt(i).String()
				if _, err := tx.Exec(ctx, `INSERT INTO registry_repo_blobs (repo, digest, size, created_at) VALUES (?, ?, 8, ?)`,
					"lib/app", d, old); err != nil {
					return err
				}
				if i >= live { // garbage: queued when its manifest went
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
	// A store at rest: the building's write-ahead log folded into the
	// database, so the run does not pay for the building's checkpoint.
	pool, err := db.NewPool(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	return rg
}
