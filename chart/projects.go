package chart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// ErrNoProject: the project a request names does not exist.
var ErrNoProject = core.New(core.ErrNotFound, "project not found")

// Projects resolves a project name to its immutable id; ok is false when
// there is no such project. *project.Store implements it. Chart rows are
// keyed by the id, so a project deleted and created again under its name
// starts with no charts.
type Projects interface {
	ProjectID(ctx context.Context, name string) (id int64, ok bool, err error)
}

// WithProjects keys each project's charts by the id projects gives its
// name, and makes a name projects does not know a project that does not
// exist (ErrNoProject on upload, nothing to read). Without it the Repo
// numbers project names itself, on first upload.
func WithProjects(p Projects) Option { return func(r *Repo) { r.projects = p } }

// projectID resolves name. On a write (create) without WithProjects it
// numbers a name seen for the first time.
func (r *Repo) projectID(ctx context.Context, name string, create bool) (int64, bool, error) {
	if !validProject(name) {
		return 0, false, fmt.Errorf("%w: %q", errBadProject, name)
	}
	if r.projects != nil {
		id, ok, err := r.projects.ProjectID(ctx, name)
		if err != nil {
			return 0, false, fmt.Errorf("chart: project %q: %w", name, err)
		}
		return id, ok, nil
	}
	var id int64
	err := r.db.QueryRow(ctx, `SELECT id FROM chart_project_ids WHERE name = ?`, name).Scan(&id)
	switch {
	case err == nil:
		return id, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, err
	case !create:
		return 0, false, nil
	}
	err = r.db.Write(ctx, func(tx *sqldb.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO chart_project_ids (name) VALUES (?)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id`, name).Scan(&id)
	})
	return id, err == nil, err
}

// readID resolves name for a read. A name the Repo has not numbered yet
// (without WithProjects) holds nothing: id 0, which no row has.
func (r *Repo) readID(ctx context.Context, name string) (int64, error) {
	id, ok, err := r.projectID(ctx, name, false)
	switch {
	case err != nil:
		return 0, err
	case ok:
		return id, nil
	case r.projects != nil:
		return 0, fmt.Errorf("%w: %q", ErrNoProject, name)
	}
	return 0, nil
}

// ProjectVersions counts the chart versions stored in the project with
// id, inside tx: a project is not empty while it holds any (Harbor
// refuses to delete it). It first locks the project's index generation,
// as every upload and delete does, so that on PostgreSQL no upload can
// commit a version between the count and the transaction's end (the
// project deleted with a version left in it).
func (r *Repo) ProjectVersions(ctx context.Context, tx *sqldb.Tx, id int64) (int, error) {
	if _, err := bumpGeneration(ctx, tx, id); err != nil {
		return 0, err
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM chart_versions WHERE project_id = ?`, id).Scan(&n)
	return n, err
}

// ForgetProject removes, inside tx, everything the Repo keeps for the
// project with id: its versions (whose blobs stay until garbage collection
// finds them unreferenced) and the rendered index cached in memory (a
// rolled-back transaction only costs a re-render). Its index generation
// stays, as a tombstone: an upload or delete that resolved the project
// before its removal then fails with ErrNoProject instead of leaving a
// version behind, and the generation never returns to a value another
// process may hold a rendered index for. Without WithProjects the name's
// number is dropped too, so a later upload under the name numbers it
// afresh.
func (r *Repo) ForgetProject(ctx context.Context, tx *sqldb.Tx, id int64) error {
	// The generation first: the lock order of uploads and deletes.
	if _, err := tx.Exec(ctx, `INSERT INTO chart_generations (project_id, generation) VALUES (?, ?)
		ON CONFLICT (project_id) DO UPDATE SET generation = excluded.generation`, id, forgotten); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM chart_versions WHERE project_id = ?`, id); err != nil {
		return err
	}
	if r.projects == nil {
		if _, err := tx.Exec(ctx, `DELETE FROM chart_project_ids WHERE id = ?`, id); err != nil {
			return err
		}
	}
	r.mu.Lock()
	delete(r.cache, id)
	r.mu.Unlock()
	return nil
}

// ProjectNames lists the names the Repo numbered itself (without
// WithProjects): every project that has held a chart since. With
// WithProjects it returns none; ask the project store.
func (r *Repo) ProjectNames(ctx context.Context) ([]string, error) {
	rows, err := r.db.Query(ctx, `SELECT name FROM chart_project_ids ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
