package project

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// Project is a namespace of repositories: the first path component of
// every repository in it.
type Project struct {
	// Name is the key; it cannot change.
	Name string
	// ID is a number the Store assigns on Create and never reuses, for
	// APIs that address projects by number (Harbor's project_id).
	ID int64
	// Public projects may be pulled from by anyone, even anonymously.
	Public   bool
	Metadata Metadata
	// Owner is who created the project (informational).
	Owner     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (p Project) clone() Project {
	p.Metadata.Extra = p.Metadata.cloneExtra()
	return p
}

const projectCols = `name, id, public, owner, metadata, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanProject(row scanner) (Project, error) {
	var (
		p        Project
		md       string
		cre, upd int64
	)
	if err := row.Scan(&p.Name, &p.ID, &p.Public, &p.Owner, &md, &cre, &upd); err != nil {
		return Project{}, err
	}
	m, err := decodeMetadata(md)
	if err != nil {
		return Project{}, fmt.Errorf("project %q: %w", p.Name, err)
	}
	p.Metadata, p.CreatedAt, p.UpdatedAt = m, fromUnix(cre), fromUnix(upd)
	return p, nil
}

func notFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

// Create stores a new project, with initial members in the same
// transaction (typically its creator as project admin). It sets ID and the
// timestamps and returns the project as stored. A project of that name
// already existing is ErrExists.
func (s *Store) Create(ctx context.Context, p Project, members ...Member) (Project, error) {
	if err := ValidateName(p.Name); err != nil {
		return Project{}, err
	}
	md, err := p.Metadata.normalized()
	if err != nil {
		return Project{}, err
	}
	p.Metadata = md
	now := s.timestamp()
	p.CreatedAt, p.UpdatedAt = now, now
	changes := []Change{{Kind: ProjectCreated, Project: p.Name, Time: now}}
	members = slices.Clone(members)
	for i := range members {
		m := &members[i]
		if m.Project == "" {
			m.Project = p.Name
		}
		if err := s.validMember(*m); err != nil {
			return Project{}, err
		}
		if m.Project != p.Name {
			return Project{}, fmt.Errorf("%w: member %s is for project %q, not %q", ErrInvalid, m.Subject, m.Project, p.Name)
		}
		m.CreatedAt, m.UpdatedAt = now, now
		changes = append(changes, Change{Kind: MemberAdded, Project: p.Name, Subject: m.Subject,
			Repositories: m.Repositories, Role: m.Role, Time: now})
	}
	enc, err := md.encode()
	if err != nil {
		return Project{}, err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE project_seq SET last_id = last_id + 1 RETURNING last_id`).Scan(&p.ID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO project_projects (`+projectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO NOTHING`,
			p.Name, p.ID, p.Public, p.Owner, enc, now.UnixNano(), now.UnixNano())
		if err := oneRow(res, err); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("project %q: %w", p.Name, ErrExists)
		} else if err != nil {
			return err
		}
		for i := range members {
			if _, err := insertMember(ctx, tx, &members[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range changes {
		changes[i].ProjectID = p.ID
	}
	s.changed(ctx, p.Name, err, changes...)
	if err != nil {
		return Project{}, err
	}
	return p.clone(), nil
}

// Get returns a project, or ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (Project, error) {
	p, ok, err := s.lookup(ctx, name)
	switch {
	case err != nil:
		return Project{}, err
	case !ok:
		return Project{}, fmt.Errorf("project %q: %w", name, ErrNotFound)
	}
	return p, nil
}

// GetByID returns the project with that ID, or ErrNotFound.
func (s *Store) GetByID(ctx context.Context, id int64) (Project, error) {
	p, err := scanProject(s.db.QueryRow(ctx, `SELECT `+projectCols+` FROM project_projects WHERE id = ?`, id))
	return p, notFound(fmt.Sprintf("project id %d", id), err)
}

// Exists reports whether a project exists. It is served from memory after
// the first lookup (see WithCacheSize).
func (s *Store) Exists(ctx context.Context, name string) (bool, error) {
	_, ok, err := s.lookup(ctx, name)
	return ok, err
}

// Public reports whether a project exists and whether it is public, for an
// access check on every request. It is served from memory after the first
// lookup (see WithCacheSize).
func (s *Store) Public(ctx context.Context, name string) (exists, public bool, err error) {
	p, ok, err := s.lookup(ctx, name)
	return ok, ok && p.Public, err
}

// lookup reads a project through the cache. An invalid name is a project
// that does not exist.
func (s *Store) lookup(ctx context.Context, name string) (Project, bool, error) {
	if nameProblem(name) != "" {
		return Project{}, false, nil
	}
	var gen uint64
	if s.cache != nil {
		var e entry
		var hit bool
		if e, hit, gen = s.cache.get(name); hit {
			return e.p.clone(), e.ok, nil
		}
	}
	p, err := scanProject(s.db.QueryRow(ctx, `SELECT `+projectCols+` FROM project_projects WHERE name = ?`, name))
	ok := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return Project{}, false, err
	}
	if s.cache != nil {
		s.cache.put(name, entry{p: p.clone(), ok: ok}, gen)
	}
	return p, ok, nil
}

// Update changes a project: fn receives the stored project and edits it in
// place (visibility, metadata, owner); returning an error aborts. Name, ID
// and CreatedAt cannot change. fn runs inside the write transaction: it
// must be quick and must not call the Store. With PostgreSQL it may run
// again, on a fresh copy, when the transaction is retried after a
// deadlock (sqldb.DB.Write).
func (s *Store) Update(ctx context.Context, name string, fn func(p *Project) error) (Project, error) {
	var out Project
	now := s.timestamp()
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Locked until the commit: a concurrent Update (another process,
		// with PostgreSQL) waits and then reads this one's result.
		cur, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+` FROM project_projects WHERE name = ?`+tx.ForUpdate(), name))
		if err != nil {
			return notFound(fmt.Sprintf("project %q", name), err)
		}
		next := cur.clone()
		if err := fn(&next); err != nil {
			return err
		}
		if next.Name != cur.Name || next.ID != cur.ID || !next.CreatedAt.Equal(cur.CreatedAt) {
			return fmt.Errorf("%w: project %q: name, id and creation time cannot change", ErrInvalid, name)
		}
		if next.Metadata.RegistryID != cur.Metadata.RegistryID {
			return fmt.Errorf("%w: project %q: whether it is a proxy cache, and of what registry, cannot change", ErrInvalid, name)
		}
		if next.Metadata, err = next.Metadata.normalized(); err != nil {
			return err
		}
		enc, err := next.Metadata.encode()
		if err != nil {
			return err
		}
		next.UpdatedAt = now
		_, err = tx.Exec(ctx, `UPDATE project_projects SET public = ?, owner = ?, metadata = ?, updated_at = ? WHERE name = ?`,
			next.Public, next.Owner, enc, now.UnixNano(), name)
		out = next
		return err
	})
	s.changed(ctx, name, err, Change{Kind: ProjectUpdated, Project: name, ProjectID: out.ID, Time: now})
	if err != nil {
		return Project{}, err
	}
	return out, nil
}

// Delete removes a project, its members and, in the same transaction,
// whatever the cascades added with OnDelete remove. It refuses with
// ErrNotEmpty while the repository counter (see WithRepositoryCounter)
// reports repositories in it, or while a cascade refuses (charts still
// stored, say). The repository count is taken before the transaction: a
// push racing with Delete can leave a repository behind, so refuse pushes
// into projects that do not exist (Exists).
func (s *Store) Delete(ctx context.Context, name string) error {
	p, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	now := s.timestamp()
	err = s.deleteTx(ctx, p, false)
	s.changed(ctx, name, err, Change{Kind: ProjectDeleted, Project: name, ProjectID: p.ID, Time: now})
	return err
}

// Deletable tells whether Delete would delete the project now: nil, or
// the error Delete would return (ErrNotEmpty with the reason while it
// holds repositories or a cascade refuses). It runs Delete's checks and
// cascades in a transaction it rolls back, so it changes nothing; a
// change made meanwhile may still make Delete answer otherwise.
func (s *Store) Deletable(ctx context.Context, name string) error {
	p, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	if err := s.deleteTx(ctx, p, true); !errors.Is(err, errDryRun) {
		return err
	}
	return nil
}

// errDryRun rolls back Deletable's transaction.
var errDryRun = errors.New("project: dry run")

// deleteTx checks that p may go and removes it with its members and what
// the cascades remove, in one transaction; with dryRun it rolls that
// transaction back and returns errDryRun once everything passed.
func (s *Store) deleteTx(ctx context.Context, p Project, dryRun bool) error {
	if s.repoCount != nil {
		n, err := s.repoCount(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("project %q: counting repositories: %w", p.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("project %q: %w: it still holds %d repositories; delete them first", p.Name, ErrNotEmpty, n)
		}
	}
	s.mu.Lock()
	cascades := slices.Clone(s.cascades)
	s.mu.Unlock()
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		for _, c := range cascades {
			if err := c(ctx, tx, p); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM project_members WHERE project_id = ?`, p.ID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM project_projects WHERE id = ?`, p.ID)
		if err := oneRow(res, err); err != nil {
			return notFound(fmt.Sprintf("project %q", p.Name), err)
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
}

// Cascade is run inside the transaction that deletes project p: it removes
// what another package keeps for p (keyed by p.ID) in that transaction,
// or refuses the deletion with an error wrapping ErrNotEmpty, with a
// message for people, while p holds something its owner must remove first.
// Any error rolls the whole deletion back. It must use tx, not the
// database, and must be quick: the write transaction is held. With
// PostgreSQL it may run again when the transaction is retried after a
// deadlock (sqldb.DB.Write), so it must change nothing outside tx.
type Cascade func(ctx context.Context, tx *sqldb.Tx, p Project) error

// OnDelete adds a cascade to every later Delete. A package keeping
// project-scoped rows in the same database adds its own while a server is
// assembled, so a project's deletion removes all of it at once or nothing.
func (s *Store) OnDelete(c Cascade) {
	s.mu.Lock()
	s.cascades = append(s.cascades, c)
	s.mu.Unlock()
}

// ProjectID returns the immutable id of the project named name; ok is
// false when there is none. Other packages key their project-scoped rows
// by it, so a project deleted and created again under its name starts
// with none of them. It is served from memory after the first lookup.
func (s *Store) ProjectID(ctx context.Context, name string) (id int64, ok bool, err error) {
	p, ok, err := s.lookup(ctx, name)
	return p.ID, ok, err
}

// oneRow turns an Exec that touched no row into sql.ErrNoRows.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
