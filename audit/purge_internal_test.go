package audit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// TestPurgeInBatches checks that a purge deletes in transactions of at
// most its batch size, one action at a time, and that a cancelled context
// stops it between two.
func TestPurgeInBatches(t *testing.T) { OnEngines(t, testPurgeInBatches) }

func testPurgeInBatches(t *testing.T, db *sqldb.DB) {
	ctx := t.Context()
	s, err := NewStore(ctx, db)
	require.NoError(t, err)
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	fill := func() {
		var es []Entry
		for i := range 10 {
			es = append(es, Entry{Time: base.Add(time.Duration(i) * time.Second), Action: ActionPull, Resource: "r"},
				Entry{Time: base.Add(time.Duration(i) * time.Second), Action: ActionPush, Resource: "r"})
		}
		require.NoError(t, s.insert(ctx, es))
	}
	type batch struct {
		action   string
		n, total int64
	}
	tests := []struct {
		name    string
		actions []string
		want    []batch
	}{
		{"every action", nil, []batch{{"", 3, 3}, {"", 3, 6}, {"", 3, 9}, {"", 3, 12}, {"", 3, 15}, {"", 3, 18}, {"", 2, 20}}},
		{"two actions", []string{ActionPush, ActionPull}, []batch{{"pull", 3, 3}, {"pull", 3, 6}, {"pull", 3, 9},
			{"pull", 1, 10}, {"push", 3, 13}, {"push", 3, 16}, {"push", 3, 19}, {"push", 1, 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill()
			var got []batch
			n, err := s.purgeBatched(ctx, base.Add(time.Hour), tt.actions, false, 3, func(a string, n, total int64) {
				got = append(got, batch{a, n, total})
			})
			require.NoError(t, err)
			assert.EqualValues(t, 20, n)
			assert.Equal(t, tt.want, got)
		})
	}

	t.Run("oldest first, stopped between batches", func(t *testing.T) {
		fill()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		n, err := s.purgeBatched(cctx, base.Add(time.Hour), nil, false, 4, func(string, int64, int64) { cancel() })
		require.ErrorIs(t, err, context.Canceled)
		assert.EqualValues(t, 4, n)
		es, total, err := s.Query(ctx, Filter{}, Page{Limit: MaxPageSize})
		require.NoError(t, err)
		assert.Equal(t, 16, total)
		assert.Equal(t, base.Add(2*time.Second), es[len(es)-1].Time, "the two oldest seconds went first")
	})
}

// Purges running at once on PostgreSQL each delete everything they were
// asked to, though they contend for the same rows: a batch that comes out
// short because another purge deleted rows under it is not taken for the
// last.
func TestConcurrentPurgesDeleteEverything(t *testing.T) {
	ctx := t.Context()
	db := OpenEngine(t, "postgres")
	s, err := NewStore(ctx, db)
	require.NoError(t, err)
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	const each = 600
	for round := range 3 {
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO audit_log (op_time, actor, actor_kind, action, resource_type, resource, project, result)
				SELECT CAST(? AS BIGINT) + i, 'alice', 'user', CASE WHEN i % 2 = 0 THEN 'pull' ELSE 'push' END, 'artifact', 'r', 'p', 'success'
				FROM generate_series(1, ?) AS i`, base.UnixNano(), 2*each)
			return err
		}))
		// One purges pulls only, one every action: the second must not
		// stop at a batch the first cut short.
		var all, pulls int64
		var errAll, errPulls error
		var wg sync.WaitGroup
		wg.Go(func() {
			pulls, errPulls = s.purgeBatched(ctx, base.Add(time.Hour), []string{ActionPull}, false, 50, nil)
		})
		wg.Go(func() { all, errAll = s.purgeBatched(ctx, base.Add(time.Hour), nil, false, 50, nil) })
		wg.Wait()
		require.NoError(t, errAll)
		require.NoError(t, errPulls)
		assert.EqualValues(t, 2*each, all+pulls, "round %d: every entry deleted once", round)
		_, left, err := s.Query(ctx, Filter{}, Page{})
		require.NoError(t, err)
		require.Zero(t, left, "round %d: entries left after both purges ended", round)
	}
}
