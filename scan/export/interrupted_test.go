package export

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// An execution left running by a process that stopped reads as failed
// once its deadline has passed.
func TestInterruptedExecution(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer db.Close()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := New(t.Context(), db, WithClock(func() time.Time { return now }), WithTimeout(time.Minute))
	require.NoError(t, err)
	e, err := s.start(t.Context(), Owner{Name: "alice", Since: time.Unix(1, 0)}, Criteria{})
	require.NoError(t, err)
	got, err := s.Get(t.Context(), e.ID)
	require.NoError(t, err)
	assert.Equal(t, Running, got.Status)

	now = now.Add(3 * time.Minute)
	got, err = s.Get(t.Context(), e.ID)
	require.NoError(t, err)
	assert.Equal(t, Error, got.Status)
	assert.Contains(t, got.StatusText, "interrupted")
	assert.False(t, got.EndedAt.IsZero())
}
