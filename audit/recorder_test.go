package audit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/internal/testlog"
	"github.com/berthlabs/berth/sqldb"
)

func pull(i int) audit.Entry {
	return audit.Entry{Actor: "alice", Action: audit.ActionPull, ResourceType: audit.ResourceArtifact,
		Resource: fmt.Sprintf("library/app@sha256:%04d", i), Project: "library"}
}

func TestRecorderConcurrent(t *testing.T) {
	const writers, each = 32, 50
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		rec := audit.NewRecorder(s, audit.WithQueueSize(64), audit.WithBatch(100, 10*time.Millisecond))
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					assert.NoError(t, rec.Record(t.Context(), pull(w*each+i)))
				}
			})
		}
		wg.Wait()
		require.NoError(t, rec.Close(t.Context()))

		es, total, err := s.Query(t.Context(), audit.Filter{}, audit.Page{Limit: audit.MaxPageSize})
		require.NoError(t, err)
		assert.Equal(t, writers*each, total)
		seen := map[string]bool{}
		for _, e := range es {
			seen[e.Resource] = true
		}
		assert.Len(t, seen, len(es), "no entry written twice")
		st := rec.Stats()
		assert.Equal(t, int64(writers*each), st.Written)
		assert.Zero(t, st.Pending)
		assert.Zero(t, st.FailedBatches)
		assert.Less(t, st.Batches, int64(writers*each), "entries were batched")
		assert.ErrorIs(t, rec.Record(t.Context(), pull(0)), audit.ErrClosed)
	})
}

func TestRecorderFlushesOnInterval(t *testing.T) {
	eachBackend(t, func(t *testing.T, _ *sqldb.DB, s *audit.Store) {
		rec := audit.NewRecorder(s, audit.WithBatch(1000, 20*time.Millisecond))
		defer rec.Close(t.Context())
		require.NoError(t, rec.Record(t.Context(), pull(1)))
		assert.Eventually(t, func() bool { return len(all(t, s)) == 1 }, 5*time.Second, 5*time.Millisecond)
		// The counters move just after the commit that made the row visible.
		assert.Eventually(t, func() bool { return rec.Stats() == audit.Stats{Written: 1, Batches: 1} },
			5*time.Second, time.Millisecond, "stats: %+v", rec.Stats())
	})
}

func TestRecorderBlocksWhenFull(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *sqldb.DB, s *audit.Store) {
		release := holdWrites(t, db) // the store is stalled
		rec := audit.NewRecorder(s, audit.WithQueueSize(1), audit.WithBatch(1, time.Millisecond))

		// Fill the pipeline: one entry in the writer's hands, one queued.
		// Past that, Record waits for room; with a deadline it gives up
		// and says so instead of dropping the entry.
		accepted := 0
		for {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			err := rec.Record(ctx, pull(accepted))
			cancel()
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				break
			}
			accepted++
			require.LessOrEqual(t, accepted, 2, "the queue holds one entry, the writer one")
		}

		blocked := make(chan error, 1)
		go func() { blocked <- rec.Record(context.Background(), pull(accepted)) }()
		select {
		case err := <-blocked:
			t.Fatalf("Record returned %v with a full queue; it must block", err)
		case <-time.After(100 * time.Millisecond):
		}
		assert.Equal(t, int64(accepted+1), rec.Stats().Pending)

		release()
		require.NoError(t, <-blocked)
		require.NoError(t, rec.Close(t.Context()))
		assert.Len(t, all(t, s), accepted+1, "every accepted entry was written")
	})
}

func TestRecorderRetriesFailedBatches(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *sqldb.DB, s *audit.Store) {
		var logs testlog.Buffer
		rec := audit.NewRecorder(s, audit.WithBatch(10, time.Millisecond),
			audit.WithRetryBackoff(time.Millisecond, 10*time.Millisecond),
			audit.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

		renameTable(t, db, "audit_log", "audit_log_away") // writes fail
		for i := range 3 {
			require.NoError(t, rec.Record(t.Context(), pull(i)))
		}
		require.Eventually(t, func() bool { return rec.Stats().FailedBatches >= 3 }, 5*time.Second, time.Millisecond)
		assert.Contains(t, logs.String(), "audit: batch write failed, will retry")
		assert.Equal(t, int64(3), rec.Stats().Pending)

		renameTable(t, db, "audit_log_away", "audit_log") // writes work again
		require.NoError(t, rec.Close(t.Context()))
		assert.Len(t, all(t, s), 3)
		st := rec.Stats()
		assert.Equal(t, int64(3), st.Written)
		assert.Zero(t, st.Pending)
	})
}

func TestRecorderCloseReportsUnwritten(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *sqldb.DB, s *audit.Store) {
		var logs testlog.Buffer
		rec := audit.NewRecorder(s, audit.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
			audit.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		renameTable(t, db, "audit_log", "audit_log_away")
		for i := range 5 {
			require.NoError(t, rec.Record(t.Context(), pull(i)))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		err := rec.Close(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "5 entries not written")
		assert.True(t, errors.Is(err, context.DeadlineExceeded))
		assert.Contains(t, logs.String(), "recorder closed with entries not written")
		assert.Equal(t, int64(5), rec.Stats().Pending)

		// Closing again tells the same; recording is refused.
		err = rec.Close(t.Context())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "5 entries not written")
		assert.ErrorIs(t, rec.Record(t.Context(), pull(9)), audit.ErrClosed)
	})
}

func TestRecorderCloseReleasesBlockedRecord(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *sqldb.DB, s *audit.Store) {
		rec := audit.NewRecorder(s, audit.WithQueueSize(1), audit.WithBatch(1, time.Millisecond),
			audit.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
			audit.WithLogger(slog.New(slog.DiscardHandler)))
		renameTable(t, db, "audit_log", "audit_log_away")

		results := make(chan error, 4)
		for i := range 4 {
			go func() { results <- rec.Record(context.Background(), pull(i)) }()
		}
		// One entry in the writer's hands, one queued, two Record calls
		// waiting for room.
		require.Eventually(t, func() bool { return rec.Stats().Pending == 4 }, 5*time.Second, time.Millisecond)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err := rec.Close(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "2 entries not written")

		refused := 0
		for range 4 {
			if err := <-results; err != nil {
				assert.ErrorIs(t, err, audit.ErrClosed)
				refused++
			}
		}
		assert.Equal(t, 2, refused, "the waiting calls were refused, not dropped silently")
	})
}

func TestRecordRejectsInvalidEntry(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer db.Close()
	s, err := audit.NewStore(t.Context(), db)
	require.NoError(t, err)
	rec := audit.NewRecorder(s)
	assert.Error(t, rec.Record(t.Context(), audit.Entry{Actor: "alice"}))
	require.NoError(t, rec.Close(t.Context()))
	assert.Zero(t, rec.Stats().Written)
}
