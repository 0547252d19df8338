package replicate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthlabs/berth/internal/origin"
	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/sqldb"
)

const secretAAD = "berth-replicate-endpoint"

// errStopped: the task was stopped.
var errStopped = errors.New("replicate: task stopped")

// maxTaskLog bounds one task's log; lines past it are dropped.
const maxTaskLog = 256 << 10

// store persists endpoints, policies, executions and tasks.
type store struct {
	db   *sqldb.DB
	seal *seal.Sealer
	now  func() time.Time
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// isUnique reports a unique constraint's refusal: SQLite's words, or
// PostgreSQL's (SQLSTATE 23505).
func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") || strings.Contains(err.Error(), "duplicate key"))
}

// nameContains is the condition "name contains the argument" (case
// sensitive, no wildcards): SQLite's instr, PostgreSQL's strpos.
func (s *store) nameContains() string {
	if s.db.Dialect() == sqldb.Postgres {
		return `strpos(name, ?) > 0`
	}
	return `instr(name, ?) > 0`
}

// --- endpoints

func (s *store) createEndpoint(ctx context.Context, e Endpoint) (int64, error) {
	secret, err := s.seal.Seal(e.Password, secretAAD)
	if err != nil {
		return 0, err
	}
	now := s.now()
	e.Password, e.ID, e.CreatedAt, e.UpdatedAt = "", 0, time.Time{}, time.Time{}
	body, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO repl_endpoints (name, body, secret, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, e.Name, string(body), secret, ms(now), ms(now)).Scan(&id)
	})
	if isUnique(err) {
		return 0, fmt.Errorf("%w: an endpoint named %q", ErrExists, e.Name)
	}
	return id, err
}

func (s *store) updateEndpoint(ctx context.Context, e Endpoint, keepSecret bool) error {
	secret, err := s.seal.Seal(e.Password, secretAAD)
	if err != nil {
		return err
	}
	e.Password, e.CreatedAt, e.UpdatedAt = "", time.Time{}, time.Time{}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		q := `UPDATE repl_endpoints SET name = ?, body = ?, secret = ?, updated_at = ? WHERE id = ?`
		args := []any{e.Name, string(body), secret, ms(s.now()), e.ID}
		if keepSecret {
			if err := secretStays(ctx, tx, e); err != nil {
				return err
			}
			q = `UPDATE repl_endpoints SET name = ?, body = ?, updated_at = ? WHERE id = ?`
			args = []any{e.Name, string(body), ms(s.now()), e.ID}
		}
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: endpoint %d", ErrNotFound, e.ID)
		}
		return nil
	})
	if isUnique(err) {
		return fmt.Errorf("%w: an endpoint named %q", ErrExists, e.Name)
	}
	return err
}

// secretStays refuses to keep an endpoint's stored password when e moves
// it to another origin: the next request would carry it there.
func secretStays(ctx context.Context, tx *sqldb.Tx, e Endpoint) error {
	var body, sealed string
	// Locked: an update moving the endpoint elsewhere with a new password
	// must not commit between this check and the update keeping it.
	err := tx.QueryRow(ctx, `SELECT body, secret FROM repl_endpoints WHERE id = ?`+tx.ForUpdate(), e.ID).Scan(&body, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: endpoint %d", ErrNotFound, e.ID)
	}
	if err != nil {
		return err
	}
	var cur Endpoint
	if err := json.Unmarshal([]byte(body), &cur); err != nil {
		return fmt.Errorf("replicate: endpoint %d: %w", e.ID, err)
	}
	if sealed == "" || origin.Same(cur.URL, e.URL) {
		return nil
	}
	return fmt.Errorf("%w: endpoint %q moves from %s to %s; give its password again (or clear it): "+
		"the stored one is not sent to another address", ErrCredentialRequired, cur.Name, cur.URL, e.URL)
}

func (s *store) deleteEndpoint(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// The endpoint's row, locked, orders this against policies being
		// given it (endpointExists): on PostgreSQL a policy committed
		// after the count would fail the delete on the foreign key.
		if err := lockEndpoint(ctx, tx, id); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: endpoint %d", ErrNotFound, id)
			}
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM repl_policies WHERE remote_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: endpoint %d is used by %d policies", ErrInUse, id, n)
		}
		_, err := tx.Exec(ctx, `DELETE FROM repl_endpoints WHERE id = ?`, id)
		return err
	})
}

// lockEndpoint locks endpoint id's row until tx ends (on PostgreSQL);
// sql.ErrNoRows if there is none.
func lockEndpoint(ctx context.Context, tx *sqldb.Tx, id int64) error {
	return tx.QueryRow(ctx, `SELECT id FROM repl_endpoints WHERE id = ?`+tx.ForUpdate(), id).Scan(&id)
}

// lockPolicy locks policy id's row until tx ends (on PostgreSQL);
// ErrNotFound if there is none.
func lockPolicy(ctx context.Context, tx *sqldb.Tx, id int64) error {
	err := tx.QueryRow(ctx, `SELECT id FROM repl_policies WHERE id = ?`+tx.ForUpdate(), id).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: policy %d", ErrNotFound, id)
	}
	return err
}

// runningExecutions counts the executions of policy id not finished.
func runningExecutions(ctx context.Context, tx *sqldb.Tx, id int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM repl_executions WHERE policy_id = ? AND status IN (?, ?)`,
		id, StatusPending, StatusInProgress).Scan(&n)
	return n, err
}

// endpoint returns an endpoint; withSecret decrypts its password.
func (s *store) endpoint(ctx context.Context, id int64, withSecret bool) (*Endpoint, error) {
	row := s.db.QueryRow(ctx, `SELECT id, body, secret, created_at, updated_at FROM repl_endpoints WHERE id = ?`, id)
	e, err := s.scanEndpoint(row, withSecret)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: endpoint %d", ErrNotFound, id)
	}
	return e, err
}

type scanner interface{ Scan(...any) error }

func (s *store) scanEndpoint(row scanner, withSecret bool) (*Endpoint, error) {
	var (
		e              Endpoint
		id, c, u       int64
		body, sealedPw string
	)
	if err := row.Scan(&id, &body, &sealedPw, &c, &u); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return nil, fmt.Errorf("replicate: endpoint %d: %w", id, err)
	}
	e.ID, e.CreatedAt, e.UpdatedAt = id, fromMS(c), fromMS(u)
	if withSecret {
		pw, err := s.seal.Open(sealedPw, secretAAD)
		if err != nil {
			return nil, err
		}
		e.Password = pw
	}
	return &e, nil
}

func (s *store) endpoints(ctx context.Context, nameLike string, offset, limit int) ([]Endpoint, int, error) {
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM repl_endpoints WHERE `+s.nameContains(), nameLike).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, body, secret, created_at, updated_at FROM repl_endpoints
		WHERE `+s.nameContains()+` ORDER BY id LIMIT ? OFFSET ?`, nameLike, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Endpoint
	for rows.Next() {
		e, err := s.scanEndpoint(rows, false)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *e)
	}
	return out, total, rows.Err()
}

// --- policies

func policyBody(p Policy) (string, error) {
	p.ID, p.CreatedAt, p.UpdatedAt = 0, time.Time{}, time.Time{}
	b, err := json.Marshal(p)
	return string(b), err
}

func (s *store) createPolicy(ctx context.Context, p Policy) (int64, error) {
	body, err := policyBody(p)
	if err != nil {
		return 0, err
	}
	now := ms(s.now())
	var id int64
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := endpointExists(ctx, tx, p.RemoteID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO repl_policies (name, remote_id, body, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, p.Name, p.RemoteID, body, now, now).Scan(&id)
	})
	if isUnique(err) {
		return 0, fmt.Errorf("%w: a policy named %q", ErrExists, p.Name)
	}
	return id, err
}

// endpointExists checks that endpoint id exists and keeps it from being
// deleted until tx ends.
func endpointExists(ctx context.Context, tx *sqldb.Tx, id int64) error {
	err := lockEndpoint(ctx, tx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: endpoint %d does not exist", ErrInvalid, id)
	}
	return err
}

func (s *store) updatePolicy(ctx context.Context, p Policy) error {
	body, err := policyBody(p)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := endpointExists(ctx, tx, p.RemoteID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE repl_policies SET name = ?, remote_id = ?, body = ?, updated_at = ? WHERE id = ?`,
			p.Name, p.RemoteID, body, ms(s.now()), p.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: policy %d", ErrNotFound, p.ID)
		}
		return nil
	})
	if isUnique(err) {
		return fmt.Errorf("%w: a policy named %q", ErrExists, p.Name)
	}
	return err
}

func (s *store) deletePolicy(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Locked, so that no execution of it starts after the count
		// (createExecution locks it too).
		if err := lockPolicy(ctx, tx, id); err != nil {
			return err
		}
		n, err := runningExecutions(ctx, tx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: policy %d has a running execution; stop it first", ErrInUse, id)
		}
		res, err := tx.Exec(ctx, `DELETE FROM repl_policies WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: policy %d", ErrNotFound, id)
		}
		return nil
	})
}

func scanPolicy(row scanner) (*Policy, error) {
	var (
		p        Policy
		id, c, u int64
		body     string
	)
	if err := row.Scan(&id, &body, &c, &u); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return nil, fmt.Errorf("replicate: policy %d: %w", id, err)
	}
	p.ID, p.CreatedAt, p.UpdatedAt = id, fromMS(c), fromMS(u)
	return &p, nil
}

func (s *store) policy(ctx context.Context, id int64) (*Policy, error) {
	p, err := scanPolicy(s.db.QueryRow(ctx, `SELECT id, body, created_at, updated_at FROM repl_policies WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: policy %d", ErrNotFound, id)
	}
	return p, err
}

func (s *store) policies(ctx context.Context, nameLike string, offset, limit int) ([]Policy, int, error) {
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM repl_policies WHERE `+s.nameContains(), nameLike).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, body, created_at, updated_at FROM repl_policies
		WHERE `+s.nameContains()+` ORDER BY id LIMIT ? OFFSET ?`, nameLike, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *p)
	}
	return out, total, rows.Err()
}

// --- executions

func (s *store) createExecution(ctx context.Context, policyID int64, trig TriggerType, request []item) (int64, error) {
	var id int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := lockPolicy(ctx, tx, policyID); err != nil {
			return err
		}
		var err error
		id, err = s.insertExecution(ctx, tx, policyID, trig, request)
		return err
	})
	return id, err
}

func (s *store) insertExecution(ctx context.Context, tx *sqldb.Tx, policyID int64, trig TriggerType, request []item) (int64, error) {
	req := ""
	if request != nil {
		b, err := json.Marshal(request)
		if err != nil {
			return 0, err
		}
		req = string(b)
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO repl_executions (policy_id, trigger, status, request, start_time)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, policyID, trig, StatusInProgress, req, ms(s.now())).Scan(&id)
	return id, err
}

const whyBusy = "the previous execution is still running"

// claimTick starts the execution of a scheduled policy's tick, the time
// its schedule named, unless a process claimed that tick before, the
// policy is no longer scheduled on cron, or an execution of it is still
// running. It returns the new execution's id, or 0 and why not.
//
// Every process running the service runs the schedules: the claim (a
// conditional update of fired_at under the policy's row lock) makes one
// of them start a tick's execution, and the check of the stored policy
// makes a process whose schedule is stale (changed in another process)
// start nothing.
func (s *store) claimTick(ctx context.Context, policyID int64, cron string, tick time.Time) (id int64, why string, err error) {
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		id, why = 0, ""
		var body string
		err := tx.QueryRow(ctx, `SELECT body FROM repl_policies WHERE id = ?`+tx.ForUpdate(), policyID).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			why = "the policy is gone"
			return nil
		}
		if err != nil {
			return err
		}
		var p Policy
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return fmt.Errorf("replicate: policy %d: %w", policyID, err)
		}
		if !p.Enabled || p.Trigger != TriggerScheduled || p.Cron != cron {
			why = "the policy's schedule changed"
			return nil
		}
		res, err := tx.Exec(ctx, `UPDATE repl_policies SET fired_at = ? WHERE id = ? AND fired_at < ?`,
			tick.UnixNano(), policyID, tick.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			why = "another process claimed the tick"
			return err
		}
		busy, err := runningExecutions(ctx, tx, policyID)
		if err != nil {
			return err
		}
		if busy > 0 {
			why = whyBusy
			return nil
		}
		id, err = s.insertExecution(ctx, tx, policyID, TriggerScheduled, nil)
		return err
	})
	return id, why, err
}

func (s *store) setJob(ctx context.Context, execID, jobID int64) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE repl_executions SET job_id = ? WHERE id = ?`, jobID, execID)
		return err
	})
}

// finishExecution sets a terminal status unless one is set already.
func (s *store) finishExecution(ctx context.Context, id int64, st Status, text string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE repl_executions SET status = ?, status_text = ?, end_time = ?
			WHERE id = ? AND status IN (?, ?)`, st, text, ms(s.now()), id, StatusPending, StatusInProgress); err != nil {
			return err
		}
		if st == StatusStopped {
			_, err := tx.Exec(ctx, `UPDATE repl_tasks SET status = ?, end_time = ? WHERE execution_id = ? AND status IN (?, ?)`,
				StatusStopped, ms(s.now()), id, StatusPending, StatusInProgress)
			return err
		}
		return nil
	})
}

type execRow struct {
	Execution
	request string
	listed  bool
	jobID   int64
}

// execCols counts tasks by status with COUNT(CASE ...), not SUM of a
// comparison (PostgreSQL does not add booleans), and casts the sum of
// bytes (NUMERIC on PostgreSQL) back to BIGINT.
const execCols = `e.id, e.policy_id, e.trigger, e.status, e.status_text, e.request, e.listed, e.job_id, e.start_time, e.end_time,
	COUNT(t.id), COUNT(CASE WHEN t.status = 'Succeed' THEN 1 END), COUNT(CASE WHEN t.status = 'Failed' THEN 1 END),
	COUNT(CASE WHEN t.status IN ('InProgress', 'Pending') THEN 1 END), COUNT(CASE WHEN t.status = 'Stopped' THEN 1 END),
	CAST(COALESCE(SUM(t.bytes), 0) AS BIGINT)`

func scanExec(row scanner) (*execRow, error) {
	var (
		e          execRow
		start, end int64
	)
	if err := row.Scan(&e.ID, &e.PolicyID, &e.Trigger, &e.Status, &e.StatusText, &e.request, &e.listed, &e.jobID,
		&start, &end, &e.Total, &e.Succeed, &e.Failed, &e.InProgress, &e.Stopped, &e.Bytes); err != nil {
		return nil, err
	}
	e.StartTime, e.EndTime = fromMS(start), fromMS(end)
	return &e, nil
}

func (s *store) execution(ctx context.Context, id int64) (*execRow, error) {
	e, err := scanExec(s.db.QueryRow(ctx, `SELECT `+execCols+` FROM repl_executions e
		LEFT JOIN repl_tasks t ON t.execution_id = e.id WHERE e.id = ? GROUP BY e.id`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: execution %d", ErrNotFound, id)
	}
	return e, err
}

func (s *store) executions(ctx context.Context, policyID int64, status Status, offset, limit int) ([]Execution, int, error) {
	where, args := `WHERE 1 = 1`, []any{}
	if policyID != 0 {
		where, args = where+` AND e.policy_id = ?`, append(args, policyID)
	}
	if status != "" {
		where, args = where+` AND e.status = ?`, append(args, status)
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM repl_executions e `+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+execCols+` FROM repl_executions e
		LEFT JOIN repl_tasks t ON t.execution_id = e.id `+where+` GROUP BY e.id ORDER BY e.id DESC LIMIT ? OFFSET ?`,
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Execution
	for rows.Next() {
		e, err := scanExec(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e.Execution)
	}
	return out, total, rows.Err()
}

// running lists the executions not finished.
func (s *store) running(ctx context.Context) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM repl_executions WHERE status IN (?, ?) ORDER BY id`, StatusPending, StatusInProgress)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// --- tasks

// addTasks creates the tasks of an execution and marks it listed, once.
func (s *store) addTasks(ctx context.Context, execID int64, items []item) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Locked: two workers of one execution (a resumed one; a job
		// River rescued while it still ran) list its tasks once.
		var listed bool
		if err := tx.QueryRow(ctx, `SELECT listed FROM repl_executions WHERE id = ?`+tx.ForUpdate(), execID).Scan(&listed); err != nil {
			return err
		}
		if listed {
			return nil
		}
		for _, it := range items {
			b, err := json.Marshal(it)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO repl_tasks (execution_id, item, operation, src_resource, dst_resource, status)
				VALUES (?, ?, ?, ?, ?, ?)`, execID, string(b), it.Op, it.resource(it.SrcRepo), it.resource(it.DstRepo), StatusPending); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE repl_executions SET listed = TRUE WHERE id = ?`, execID)
		return err
	})
}

type taskRow struct {
	Task
	item item
}

const taskCols = `id, execution_id, item, operation, src_resource, dst_resource, status, attempts, bytes, start_time, end_time`

func scanTask(row scanner) (*taskRow, error) {
	var (
		t          taskRow
		it         string
		start, end int64
	)
	if err := row.Scan(&t.ID, &t.ExecutionID, &it, &t.Operation, &t.SrcResource, &t.DstResource, &t.Status, &t.Attempts,
		&t.Bytes, &start, &end); err != nil {
		return nil, err
	}
	t.StartTime, t.EndTime = fromMS(start), fromMS(end)
	if err := json.Unmarshal([]byte(it), &t.item); err != nil {
		return nil, fmt.Errorf("replicate: task %d: %w", t.ID, err)
	}
	t.ResourceType = ResourceArtifact
	if t.item.Kind == ResourceChart {
		t.ResourceType = ResourceChart
	}
	return &t, nil
}

func (s *store) tasks(ctx context.Context, execID int64, offset, limit int) ([]taskRow, int, error) {
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM repl_tasks WHERE execution_id = ?`, execID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+taskCols+` FROM repl_tasks WHERE execution_id = ? ORDER BY id LIMIT ? OFFSET ?`,
		execID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []taskRow
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *t)
	}
	return out, total, rows.Err()
}

func (s *store) startTask(ctx context.Context, id int64) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE repl_tasks SET status = ?, attempts = attempts + 1,
			start_time = CASE start_time WHEN 0 THEN ? ELSE start_time END WHERE id = ? AND status != ?`,
			StatusInProgress, ms(s.now()), id, StatusStopped)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errStopped
		}
		return nil
	})
}

func (s *store) finishTask(ctx context.Context, id int64, st Status, bytes int64) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// A stopped task stays stopped, whatever its copy says as it ends.
		_, err := tx.Exec(ctx, `UPDATE repl_tasks SET status = CASE status WHEN ? THEN status ELSE ? END,
			bytes = bytes + ?, end_time = ? WHERE id = ?`, StatusStopped, st, bytes, ms(s.now()), id)
		return err
	})
}

func (s *store) appendLog(ctx context.Context, id int64, line string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE repl_tasks SET log = log || ? WHERE id = ? AND length(log) < ?`, line, id, maxTaskLog)
		return err
	})
}

func (s *store) taskLog(ctx context.Context, execID, taskID int64) (string, error) {
	var log string
	err := s.db.QueryRow(ctx, `SELECT log FROM repl_tasks WHERE id = ? AND execution_id = ?`, taskID, execID).Scan(&log)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: task %d of execution %d", ErrNotFound, taskID, execID)
	}
	return log, err
}
