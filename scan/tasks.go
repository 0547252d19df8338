package scan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/sqldb"
)

// TaskKind is what a task does.
type TaskKind string

// Task kinds.
const (
	KindVulnerability TaskKind = "vulnerability" // scan one artifact
	KindSBOM          TaskKind = "sbom"          // generate and store its SBOMs
	KindScanAll       TaskKind = "scan-all"      // enqueue a scan of every artifact
)

// Trigger is why a task runs.
type Trigger string

// Triggers.
const (
	TriggerPush     Trigger = "push"
	TriggerManual   Trigger = "manual"
	TriggerSchedule Trigger = "schedule"
)

// TaskStatus is a task's lifecycle state, spelled as Harbor's scan_status.
type TaskStatus string

// Task statuses.
const (
	StatusPending TaskStatus = "Pending"
	StatusRunning TaskStatus = "Running"
	StatusSuccess TaskStatus = "Success"
	StatusError   TaskStatus = "Error"
	StatusStopped TaskStatus = "Stopped"
)

// Finished reports whether the status is final.
func (s TaskStatus) Finished() bool {
	return s == StatusSuccess || s == StatusError || s == StatusStopped
}

// Task is one run of a scan, an SBOM generation or a scan-all, with its
// log. Its ID is the report_id of Harbor's API.
type Task struct {
	ID        int64      `json:"id"`
	Kind      TaskKind   `json:"kind"`
	Artifact  Artifact   `json:"artifact"`
	Scanner   string     `json:"scanner"`
	Trigger   Trigger    `json:"trigger"`
	JobID     int64      `json:"job_id"`
	Status    TaskStatus `json:"status"`
	Message   string     `json:"message,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	StartedAt time.Time  `json:"started_at,omitzero"`
	EndedAt   time.Time  `json:"ended_at,omitzero"`
}

// maxLogBytes bounds one task's log; later lines are dropped.
const maxLogBytes = 64 << 10

const taskCols = `id, kind, repository, digest, media_type, scanner, trigger, job_id, status, message, created_at, started_at, ended_at`

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var (
		t             Task
		d             string
		cre, sta, end int64
	)
	err := row.Scan(&t.ID, &t.Kind, &t.Artifact.Repository, &d, &t.Artifact.MediaType, &t.Scanner, &t.Trigger,
		&t.JobID, &t.Status, &t.Message, &cre, &sta, &end)
	t.Artifact.Digest = digest.Digest(d)
	t.CreatedAt, t.StartedAt, t.EndedAt = fromNanos(cre), fromNanos(sta), fromNanos(end)
	return t, err
}

// activeStatuses are the statuses of a task in progress: the partial
// unique index scan_tasks_active allows one such task of a kind per
// artifact.
const activeStatuses = `('Pending', 'Running')`

// startTask creates a pending task, unless one of the same kind for the
// same artifact (digest and repository) is pending or running: then it
// returns that one, with created false. Concurrent callers, in this
// process or another sharing the database, create one task between them.
func (s *store) startTask(ctx context.Context, t Task) (Task, bool, error) {
	t.CreatedAt = s.now().UTC()
	t.Status = StatusPending
	want := t
	var created bool
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// A task found by the insert's conflict may end before the
		// lookup that follows reads it (another statement, another
		// snapshot on PostgreSQL): then insert again.
		for range 3 {
			t, created = want, true
			err := tx.QueryRow(ctx, `INSERT INTO scan_tasks (kind, repository, digest, media_type, scanner, trigger, status, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (kind, digest, repository) WHERE status IN `+activeStatuses+` DO NOTHING
				RETURNING id`,
				t.Kind, t.Artifact.Repository, t.Artifact.Digest.String(), t.Artifact.MediaType, t.Scanner, t.Trigger,
				t.Status, nanos(t.CreatedAt)).Scan(&t.ID)
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			created = false
			t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM scan_tasks
				WHERE kind = ? AND digest = ? AND repository = ? AND status IN `+activeStatuses,
				want.Kind, want.Artifact.Digest.String(), want.Artifact.Repository))
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		return fmt.Errorf("scan: starting a %s task for %s@%s: tasks in progress keep ending; try again", want.Kind,
			want.Artifact.Repository, want.Artifact.Digest)
	})
	return t, created, err
}

func (s *store) setJob(ctx context.Context, id, job int64) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE scan_tasks SET job_id = ? WHERE id = ?`, job, id)
		return err
	})
}

func (s *store) task(ctx context.Context, id int64) (Task, error) {
	t, err := scanTask(s.db.QueryRow(ctx, `SELECT `+taskCols+` FROM scan_tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("scan: task %d: %w", id, ErrNotFound)
	}
	return t, err
}

// latestTask returns the newest task of kind for digest.
func (s *store) latestTask(ctx context.Context, digest string, kind TaskKind) (Task, bool, error) {
	t, err := scanTask(s.db.QueryRow(ctx, `SELECT `+taskCols+` FROM scan_tasks WHERE digest = ? AND kind = ?
		ORDER BY id DESC LIMIT 1`, digest, kind))
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	return t, err == nil, err
}

// transition moves task id to status unless it is already finished (a
// stopped task stays stopped), and reports whether it did.
func (s *store) transition(ctx context.Context, id int64, status TaskStatus, msg string) (bool, error) {
	now := nanos(s.now())
	var n int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		q := `UPDATE scan_tasks SET status = ?, message = ?`
		args := []any{status, msg}
		switch {
		case status == StatusRunning:
			q += `, started_at = ?, ended_at = 0`
			args = append(args, now)
		case status.Finished():
			q += `, ended_at = ?`
			args = append(args, now)
		}
		q += ` WHERE id = ? AND status NOT IN ('Success', 'Error', 'Stopped')`
		res, err := tx.Exec(ctx, q, append(args, id)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// appendLog adds a timestamped line to a task's log.
func (s *store) appendLog(ctx context.Context, id int64, format string, args ...any) error {
	line := s.now().UTC().Format(time.RFC3339) + " " + strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n"
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE scan_tasks SET log = log || ? WHERE id = ? AND length(log) + ? <= ?`,
			line, id, len(line), maxLogBytes)
		return err
	})
}

func (s *store) taskLog(ctx context.Context, id int64) (string, error) {
	var l string
	err := s.db.QueryRow(ctx, `SELECT log FROM scan_tasks WHERE id = ?`, id).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("scan: task %d: %w", id, ErrNotFound)
	}
	return l, err
}
