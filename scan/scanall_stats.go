package scan

import (
	"context"
	"database/sql"
	"errors"
	"math"
)

// ScanAllStats is one scan-all run and the scans it queued, counted by
// status (Harbor's scan-all metrics).
type ScanAllStats struct {
	Task      Task
	Total     int
	Completed int                // Success, Error or Stopped
	ByStatus  map[TaskStatus]int // only statuses with scans
}

// LatestScanAll returns the newest scan-all run with trigger (any trigger
// when empty) and the scans it queued; false when there was none. The
// scans it queued are the vulnerability scans of its trigger created after
// it started and before the next scan-all (or its end): a scan of the same
// trigger asked for meanwhile by hand is counted too.
func (s *Service) LatestScanAll(ctx context.Context, trigger Trigger) (ScanAllStats, bool, error) {
	q := `SELECT ` + taskCols + ` FROM scan_tasks WHERE kind = ? AND digest = ''`
	args := []any{KindScanAll}
	if trigger != "" {
		q += ` AND trigger = ?`
		args = append(args, trigger)
	}
	t, err := scanTask(s.st.db.QueryRow(ctx, q+` ORDER BY id DESC LIMIT 1`, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return ScanAllStats{}, false, nil
	}
	if err != nil {
		return ScanAllStats{}, false, err
	}
	var next int64
	if err := s.st.db.QueryRow(ctx, `SELECT COALESCE(MIN(id), 0) FROM scan_tasks WHERE kind = ? AND digest = '' AND id > ?`,
		KindScanAll, t.ID).Scan(&next); err != nil {
		return ScanAllStats{}, false, err
	}
	if next == 0 {
		next = math.MaxInt64
	}
	until := int64(math.MaxInt64)
	if t.Status.Finished() && !t.EndedAt.IsZero() {
		until = nanos(t.EndedAt)
	}
	rows, err := s.st.db.Query(ctx, `SELECT status, COUNT(*) FROM scan_tasks
		WHERE kind = ? AND trigger = ? AND id > ? AND id < ? AND created_at <= ? GROUP BY status`,
		KindVulnerability, t.Trigger, t.ID, next, until)
	if err != nil {
		return ScanAllStats{}, false, err
	}
	defer rows.Close()
	out := ScanAllStats{Task: t, ByStatus: map[TaskStatus]int{}}
	for rows.Next() {
		var (
			st TaskStatus
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return out, false, err
		}
		out.ByStatus[st] = n
		out.Total += n
		if st.Finished() {
			out.Completed += n
		}
	}
	return out, true, rows.Err()
}
