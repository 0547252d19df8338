package scan

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// store keeps reports, tasks, allowlists, scanner registrations and
// settings in SQL.
type store struct {
	db   *sqldb.DB
	now  func() time.Time
	seal *seal.Sealer // adapter credentials at rest
}

func newStore(ctx context.Context, db *sqldb.DB, now func() time.Time) (*store, error) {
	if err := db.MigrateDialect(ctx, "scan", migrations); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return &store{db: db, now: now}, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// maxReportBytes bounds one stored report.
const maxReportBytes = 32 << 20

// putReport stores a report and, when task is not 0, marks the task a
// success in the same transaction (unless it was stopped), so that a
// report and its task's end are seen together.
func (s *store) putReport(ctx context.Context, scanner string, r *Report, task int64) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("scan: encoding report: %w", err)
	}
	if len(body) > maxReportBytes {
		return fmt.Errorf("scan: report of %d bytes exceeds the limit of %d", len(body), maxReportBytes)
	}
	sum := Summarize(r.Vulnerabilities)
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO scan_reports (digest, scanner, db_version, repository, generated_at, severity, summary, findings, report)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (digest, scanner, db_version) DO UPDATE SET repository = excluded.repository,
				generated_at = excluded.generated_at, severity = excluded.severity, summary = excluded.summary,
				findings = excluded.findings, report = excluded.report`,
			r.Artifact.Digest.String(), scanner, r.DBVersion, r.Artifact.Repository, nanos(r.GeneratedAt), int(sum.Severity),
			mustJSON(sum), mustJSON(compact(r.Vulnerabilities)), string(body))
		if err != nil || task == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE scan_tasks SET status = ?, message = '', ended_at = ?
			WHERE id = ? AND status NOT IN ('Success', 'Error', 'Stopped')`, StatusSuccess, nanos(s.now()), task)
		return err
	})
}

const latestReport = ` FROM scan_reports WHERE digest = ? ORDER BY generated_at DESC, scanner, db_version LIMIT 1`

// latestInfo returns the newest report's description for digest.
func (s *store) latestInfo(ctx context.Context, digest string) (ReportInfo, bool, error) {
	var (
		ri  ReportInfo
		gen int64
		sum string
	)
	err := s.db.QueryRow(ctx, `SELECT digest, repository, scanner, db_version, generated_at, summary`+latestReport, digest).
		Scan(&ri.Digest, &ri.Repository, &ri.Scanner, &ri.DBVersion, &gen, &sum)
	if errors.Is(err, sql.ErrNoRows) {
		return ri, false, nil
	}
	if err != nil {
		return ri, false, err
	}
	ri.GeneratedAt = fromNanos(gen)
	if err := json.Unmarshal([]byte(sum), &ri.Summary); err != nil {
		return ri, false, fmt.Errorf("scan: stored summary of %s: %w", digest, err)
	}
	return ri, true, nil
}

// latestFindings returns the compact findings of digest's newest report.
func (s *store) latestFindings(ctx context.Context, digest string) ([]Vulnerability, bool, error) {
	var f string
	err := s.db.QueryRow(ctx, `SELECT findings`+latestReport, digest).Scan(&f)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var vs []Vulnerability
	if err := json.Unmarshal([]byte(f), &vs); err != nil {
		return nil, false, fmt.Errorf("scan: stored findings of %s: %w", digest, err)
	}
	return vs, true, nil
}

// latestReport returns digest's newest full report.
func (s *store) latestReport(ctx context.Context, digest string) (*Report, ReportInfo, error) {
	ri, ok, err := s.latestInfo(ctx, digest)
	if err != nil {
		return nil, ri, err
	}
	if !ok {
		return nil, ri, fmt.Errorf("scan: no report for %s: %w", digest, ErrNotFound)
	}
	var body string
	if err := s.db.QueryRow(ctx, `SELECT report FROM scan_reports WHERE digest = ? AND scanner = ? AND db_version = ?`,
		digest, ri.Scanner, ri.DBVersion).Scan(&body); err != nil {
		return nil, ri, err
	}
	var r Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, ri, fmt.Errorf("scan: stored report of %s: %w", digest, err)
	}
	return &r, ri, nil
}

// Allowlists.

// allowlist reads the allowlist of the project with projectID (0: the
// system's).
func (s *store) allowlist(ctx context.Context, projectID int64) (Allowlist, error) {
	var (
		items        string
		exp, updated int64
	)
	err := s.db.QueryRow(ctx, `SELECT items, expires_at, updated_at FROM scan_allowlists WHERE project_id = ?`, projectID).
		Scan(&items, &exp, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Allowlist{Items: []string{}}, nil
	}
	if err != nil {
		return Allowlist{}, err
	}
	a := Allowlist{ExpiresAt: fromNanos(exp), UpdatedAt: fromNanos(updated)}
	if err := json.Unmarshal([]byte(items), &a.Items); err != nil {
		return Allowlist{}, fmt.Errorf("scan: stored allowlist of project id %d: %w", projectID, err)
	}
	return a, nil
}

func (s *store) putAllowlist(ctx context.Context, projectID int64, a Allowlist) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO scan_allowlists (project_id, items, expires_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (project_id) DO UPDATE SET items = excluded.items, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
			projectID, mustJSON(a.Items), nanos(a.ExpiresAt), nanos(a.UpdatedAt))
		return err
	})
}

// Settings.

func (s *store) setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.db.QueryRow(ctx, `SELECT value FROM scan_settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *store) setSetting(ctx context.Context, name, value string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO scan_settings (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
		return err
	})
}

// claimSetting sets name to value only if its stored value is older
// (compared as strings) and reports whether it did: one node of many wins.
func (s *store) claimSetting(ctx context.Context, name, value string) (bool, error) {
	var won bool
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO scan_settings (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value WHERE scan_settings.value < excluded.value`, name, value)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		won = n > 0
		return err
	})
	return won, err
}

// forgetProject removes, inside tx, the allowlist and scanner choice of
// the project with projectID.
func forgetProject(ctx context.Context, tx *sqldb.Tx, projectID int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM scan_allowlists WHERE project_id = ?`, projectID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM scan_project_scanners WHERE project_id = ?`, projectID)
	return err
}

// prune deletes finished tasks and reports older than before, except the
// newest task of each digest and kind and the newest report of each digest
// and scanner.
func (s *store) prune(ctx context.Context, before time.Time) (tasks, reports int64, err error) {
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM scan_tasks WHERE created_at < ? AND status IN ('Success', 'Error', 'Stopped')
			AND id < (SELECT MAX(t2.id) FROM scan_tasks t2 WHERE t2.digest = scan_tasks.digest AND t2.kind = scan_tasks.kind)`,
			nanos(before))
		if err != nil {
			return err
		}
		tasks, _ = res.RowsAffected()
		res, err = tx.Exec(ctx, `DELETE FROM scan_reports WHERE generated_at < ?
			AND generated_at < (SELECT MAX(r2.generated_at) FROM scan_reports r2
				WHERE r2.digest = scan_reports.digest AND r2.scanner = scan_reports.scanner)`, nanos(before))
		if err != nil {
			return err
		}
		reports, _ = res.RowsAffected()
		return nil
	})
	return tasks, reports, err
}
