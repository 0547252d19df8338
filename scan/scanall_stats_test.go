package scan

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A scan-all's metrics count the scans of its trigger queued while it ran
// and before the next scan-all, by status.
func TestLatestScanAll(t *testing.T) {
	OnEngines(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		st, err := newStore(ctx, OpenDB(t), func() time.Time { return now })
		require.NoError(t, err)
		s := &Service{st: st}
		n := 0
		task := func(kind TaskKind, trigger Trigger, end TaskStatus) Task {
			t.Helper()
			n++
			a := Artifact{}
			if kind != KindScanAll {
				a = Artifact{Repository: "p/app", Digest: digest.FromString(fmt.Sprint(n))}
			}
			tk, created, err := st.startTask(ctx, Task{Kind: kind, Artifact: a, Trigger: trigger})
			require.NoError(t, err)
			require.True(t, created)
			if end != StatusPending {
				_, err = st.transition(ctx, tk.ID, end, "")
				require.NoError(t, err)
			}
			now = now.Add(time.Second)
			return tk
		}

		_, ok, err := s.LatestScanAll(ctx, "")
		require.NoError(t, err)
		assert.False(t, ok)

		sched := task(KindScanAll, TriggerSchedule, StatusPending)
		task(KindVulnerability, TriggerSchedule, StatusSuccess)
		task(KindVulnerability, TriggerSchedule, StatusError)
		task(KindVulnerability, TriggerSchedule, StatusPending)
		task(KindVulnerability, TriggerManual, StatusSuccess) // asked for by hand: not the run's
		_, err = st.transition(ctx, sched.ID, StatusSuccess, "")
		require.NoError(t, err)
		now = now.Add(time.Second)
		task(KindVulnerability, TriggerSchedule, StatusSuccess) // after the run ended
		manual := task(KindScanAll, TriggerManual, StatusPending)
		task(KindVulnerability, TriggerManual, StatusRunning)

		got, ok, err := s.LatestScanAll(ctx, TriggerSchedule)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, sched.ID, got.Task.ID)
		assert.Equal(t, 3, got.Total)
		assert.Equal(t, 2, got.Completed)
		assert.Equal(t, map[TaskStatus]int{StatusSuccess: 1, StatusError: 1, StatusPending: 1}, got.ByStatus)

		got, ok, err = s.LatestScanAll(ctx, "")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, manual.ID, got.Task.ID)
		assert.Equal(t, 1, got.Total)
		assert.Equal(t, 0, got.Completed)
		assert.Equal(t, map[TaskStatus]int{StatusRunning: 1}, got.ByStatus)
	})
}
