package export_test

import (
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/scan/export"
	"github.com/berthlabs/berth/sqldb"
)

var (
	alice = export.Owner{Name: "alice", Since: time.Unix(1, 0).UTC()}
	bob   = export.Owner{Name: "bob", Since: time.Unix(2, 0).UTC()}
)

func emitAll(rs ...export.Record) export.Produce {
	return func(_ context.Context, emit func(export.Record) error) error {
		for _, r := range rs {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestRunWritesTheFile(t *testing.T) {
	onEngines(t, func(t *testing.T, db *sqldb.DB) {
		s, err := export.New(t.Context(), db)
		require.NoError(t, err)
		crit := export.Criteria{JobName: "weekly", Projects: []int64{7}, CVEIDs: "CVE-1"}
		e, err := s.Run(t.Context(), alice, crit, emitAll(
			export.Record{Project: "p", Repository: "p/app", Digest: "sha256:ab", Tags: []string{"1", "latest"}, CVE: "CVE-1",
				Package: "openssl", Version: "3.0.1", FixVersion: "3.0.2", Severity: "Critical", CVSSv3: 9.8,
				Description: "bad, \"very\"\nbad"},
			export.Record{Project: "p", Repository: "p/app", Digest: "sha256:ab", Tags: []string{"=HYPERLINK(\"x\")"}, CVE: "CVE-2",
				Package: "zlib", Version: "1", Severity: "Low", Description: "-1+1"}))
		require.NoError(t, err)
		assert.Equal(t, export.Success, e.Status)
		assert.True(t, e.FilePresent)
		assert.Equal(t, 2, e.Records)
		assert.Equal(t, crit, e.Criteria)
		assert.Equal(t, alice, e.Owner)
		assert.Equal(t, export.TriggerManual, e.Trigger)
		assert.False(t, e.EndedAt.IsZero())

		f, err := s.File(t.Context(), e.ID)
		require.NoError(t, err)
		rows, err := csv.NewReader(strings.NewReader(string(f))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 3)
		assert.Equal(t, export.Header(), rows[0])
		assert.Equal(t, []string{"p", "p/app", "sha256:ab", "1,latest", "CVE-1", "openssl", "3.0.1", "3.0.2", "Critical", "9.8", "", "",
			"bad, \"very\"\nbad"}, rows[1])
		assert.Equal(t, "'=HYPERLINK(\"x\")", rows[2][3], "a formula is written as text")
		assert.Equal(t, "'-1+1", rows[2][12])

		mine, err := s.List(t.Context(), alice)
		require.NoError(t, err)
		require.Len(t, mine, 1)
		assert.Equal(t, e.ID, mine[0].ID)
		theirs, err := s.List(t.Context(), bob)
		require.NoError(t, err)
		assert.Empty(t, theirs)
		_, err = s.Get(t.Context(), e.ID+1)
		assert.ErrorIs(t, err, core.ErrNotFound)
	})
}

func TestRunFailures(t *testing.T) {
	onEngines(t, func(t *testing.T, db *sqldb.DB) {
		s, err := export.New(t.Context(), db)
		require.NoError(t, err)
		check := func(e export.Execution, err error, text string) {
			t.Helper()
			require.NoError(t, err)
			assert.Equal(t, export.Error, e.Status)
			assert.Contains(t, e.StatusText, text)
			assert.False(t, e.FilePresent)
			_, err = s.File(t.Context(), e.ID)
			assert.ErrorIs(t, err, core.ErrNotFound)
		}
		e, err := s.Run(t.Context(), alice, export.Criteria{}, func(context.Context, func(export.Record) error) error {
			return errors.New("catalog unreadable")
		})
		check(e, err, "catalog unreadable")

		big := strings.Repeat("x", 1<<20)
		e, err = s.Run(t.Context(), alice, export.Criteria{}, func(_ context.Context, emit func(export.Record) error) error {
			for {
				if err := emit(export.Record{Description: big}); err != nil {
					return err
				}
			}
		})
		check(e, err, "larger than 32 MiB")

		s, err = export.New(t.Context(), db, export.WithTimeout(50*time.Millisecond))
		require.NoError(t, err)

		e, err = s.Run(t.Context(), alice, export.Criteria{}, func(ctx context.Context, _ func(export.Record) error) error {
			<-ctx.Done()
			return ctx.Err()
		})
		check(e, err, "took longer than 50ms")
	})
}

func TestKeepAndIDs(t *testing.T) {
	onEngines(t, func(t *testing.T, db *sqldb.DB) {
		s, err := export.New(t.Context(), db, export.WithKeep(2))
		require.NoError(t, err)
		var ids []int64
		for range 3 {
			e, err := s.Run(t.Context(), alice, export.Criteria{}, emitAll())
			require.NoError(t, err)
			ids = append(ids, e.ID)
		}
		b, err := s.Run(t.Context(), bob, export.Criteria{}, emitAll())
		require.NoError(t, err)
		mine, err := s.List(t.Context(), alice)
		require.NoError(t, err)
		require.Len(t, mine, 2)
		assert.Equal(t, []int64{ids[2], ids[1]}, []int64{mine[0].ID, mine[1].ID}, "newest first; the oldest went")
		_, err = s.Get(t.Context(), ids[0])
		assert.ErrorIs(t, err, core.ErrNotFound)
		_, err = s.Get(t.Context(), b.ID)
		require.NoError(t, err, "another user's executions are not counted")
		assert.Greater(t, b.ID, ids[2], "ids grow")
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer db.Close()
	_, err = export.New(t.Context(), db, export.WithKeep(0))
	require.Error(t, err)
	_, err = export.New(t.Context(), nil)
	require.Error(t, err)
}
