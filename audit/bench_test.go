package audit_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/sqldb"
)

// benchStore is a Store on a SQLite file (WAL, synchronous=FULL).
func benchStore(b *testing.B) *audit.Store {
	db, err := sqldb.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "berth.db"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	s, err := audit.NewStore(b.Context(), db)
	require.NoError(b, err)
	return s
}

// BenchmarkRecorder measures durable throughput: concurrent Record calls,
// then Close, which returns once every entry is committed.
func BenchmarkRecorder(b *testing.B) {
	s := benchStore(b)
	rec := audit.NewRecorder(s)
	e := pull(1)
	b.SetParallelism(4) // 4×GOMAXPROCS concurrent callers, like busy pull traffic
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := rec.Record(b.Context(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	require.NoError(b, rec.Close(b.Context()))
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkStoreRecord is the unbatched baseline: one durable transaction
// per entry.
func BenchmarkStoreRecord(b *testing.B) {
	s := benchStore(b)
	e := pull(1)
	for b.Loop() {
		if err := s.Record(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
