package project

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berthlabs/berth/sqldb"
)

// Subject kinds a member may be.
const (
	UserPrefix  = "user:"
	GroupPrefix = "group:"
)

// Bounds on members.
const (
	MaxSubjectLength      = 1024
	MaxRepositoriesLength = 512
)

// Member grants a subject a role on a project, or on the project's
// repositories matching a glob.
//
// The Store enforces no rule such as "a project keeps at least one project
// admin" (Harbor has none either): a system admin can always repair a
// project.
type Member struct {
	// ID is a number the Store assigns when the grant is added and never
	// reuses (Harbor's member id). It is ignored on input.
	ID      int64
	Project string
	// Subject is "user:<name>" or "group:<name or LDAP DN>". Robot
	// accounts carry their own permissions and are not members.
	Subject string
	// Role is checked by the Store's role validator (WithRoleValidator).
	Role string
	// Repositories limits the grant to the repositories matching a pattern
	// over the full repository name, starting with the project:
	// "library/app-*", "library/team/**" (the rbac package's syntax:
	// path.Match per segment, "**" for any number of segments). "" means
	// the whole project. The same subject may hold one grant per pattern.
	Repositories string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// MemberFilter selects members of a project.
type MemberFilter struct {
	// SubjectPrefix keeps members whose subject starts with it
	// ("group:" for groups, "user:al" for users named al...), ignoring
	// the case of ASCII letters.
	SubjectPrefix string
}

func (s *Store) validMember(m Member) error {
	if err := ValidateName(m.Project); err != nil {
		return err
	}
	if err := validSubject(m.Subject); err != nil {
		return err
	}
	if err := validRepositories(m.Project, m.Repositories); err != nil {
		return err
	}
	if err := s.validRole(m.Role); err != nil {
		return fmt.Errorf("%w: member %s of project %q: %w", ErrInvalid, m.Subject, m.Project, err)
	}
	return nil
}

func validSubject(subject string) error {
	kind, name, _ := strings.Cut(subject, ":")
	var problem string
	switch {
	case kind != "user" && kind != "group":
		problem = `must be "user:<name>" or "group:<name>"`
	case name == "" || strings.TrimSpace(name) != name:
		problem = "name is empty or has surrounding spaces"
	case len(subject) > MaxSubjectLength:
		problem = fmt.Sprintf("%d bytes long, the limit is %d", len(subject), MaxSubjectLength)
	case !utf8.ValidString(name) || !printable(name):
		problem = "name has unprintable characters"
	default:
		return nil
	}
	return fmt.Errorf("%w: member subject %q: %s", ErrInvalid, subject, problem)
}

// validRepositories accepts what the rbac package compiles: a first
// segment that is the project, then segments that are path.Match patterns
// or "**", none empty, "." or "..", and no spaces or commas.
func validRepositories(project, glob string) error {
	if glob == "" {
		return nil
	}
	segs := strings.Split(glob, "/")
	problem := ""
	switch {
	case len(segs) < 2 || segs[0] != project:
		problem = fmt.Sprintf("must start with %q and name repositories in it", project+"/")
	case len(glob) > MaxRepositoriesLength:
		problem = fmt.Sprintf("%d bytes long, the limit is %d", len(glob), MaxRepositoriesLength)
	case strings.ContainsFunc(glob, func(r rune) bool { return r <= ' ' || r == ',' || r == 0x7f }):
		problem = "has spaces, commas or control characters"
	default:
		for _, seg := range segs[1:] {
			if seg == "" || seg == "." || seg == ".." {
				problem = `has an empty, "." or ".." segment`
				break
			}
			if _, err := path.Match(seg, ""); err != nil {
				problem = fmt.Sprintf("malformed pattern segment %q", seg)
				break
			}
		}
	}
	if problem == "" {
		return nil
	}
	return fmt.Errorf("%w: member repositories %q: %s", ErrInvalid, glob, problem)
}

// Members are keyed by their project's immutable id; memberCols reads
// the project's current name through memberFrom's join.
const (
	memberCols = `m.id, p.name, m.subject, m.repositories, m.role, m.created_at, m.updated_at`
	memberFrom = ` FROM project_members m JOIN project_projects p ON p.id = m.project_id`
)

func scanMember(row scanner) (Member, error) {
	var m Member
	var cre, upd int64
	err := row.Scan(&m.ID, &m.Project, &m.Subject, &m.Repositories, &m.Role, &cre, &upd)
	m.CreatedAt, m.UpdatedAt = fromUnix(cre), fromUnix(upd)
	return m, err
}

func memberName(m Member) string {
	s := fmt.Sprintf("member %s of project %q", m.Subject, m.Project)
	if m.Repositories != "" {
		s += " on " + m.Repositories
	}
	return s
}

// insertMember stores m under a new member id, which it sets, and returns
// its project's id. A conflict fails the transaction, so the number drawn
// is not spent.
func insertMember(ctx context.Context, tx *sqldb.Tx, m *Member) (int64, error) {
	id, err := projectIDTx(ctx, tx, m.Project)
	if err != nil {
		return 0, err
	}
	if err := tx.QueryRow(ctx, `UPDATE project_member_seq SET last_id = last_id + 1 RETURNING last_id`).Scan(&m.ID); err != nil {
		return 0, err
	}
	res, err := tx.Exec(ctx, `INSERT INTO project_members (project_id, subject, repositories, role, created_at, updated_at, id)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, subject, repositories) DO NOTHING`,
		id, m.Subject, m.Repositories, m.Role, m.CreatedAt.UnixNano(), m.UpdatedAt.UnixNano(), m.ID)
	if err := oneRow(res, err); errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s: %w", memberName(*m), ErrExists)
	} else if err != nil {
		return 0, err
	}
	return id, nil
}

// AddMember grants m.Role to m.Subject on m.Project (or on its
// repositories matching m.Repositories). It returns ErrNotFound when the
// project does not exist and ErrExists when the subject already holds a
// grant for the same Repositories.
func (s *Store) AddMember(ctx context.Context, m Member) (Member, error) {
	if err := s.validMember(m); err != nil {
		return Member{}, err
	}
	now := s.timestamp()
	m.CreatedAt, m.UpdatedAt = now, now
	var id int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) (err error) {
		id, err = insertMember(ctx, tx, &m)
		return err
	})
	s.changed(ctx, m.Project, err, Change{Kind: MemberAdded, Project: m.Project, ProjectID: id, Subject: m.Subject,
		Repositories: m.Repositories, Role: m.Role, Time: now})
	if err != nil {
		return Member{}, err
	}
	return m, nil
}

// UpdateMember changes the role of the grant identified by m.Project,
// m.Subject and m.Repositories to m.Role, or returns ErrNotFound.
func (s *Store) UpdateMember(ctx context.Context, m Member) (Member, error) {
	if err := s.validMember(m); err != nil {
		return Member{}, err
	}
	now := s.timestamp()
	m.UpdatedAt = now
	var id int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) (err error) {
		if id, err = projectIDTx(ctx, tx, m.Project); err != nil {
			return err
		}
		var cre int64
		err = tx.QueryRow(ctx, `UPDATE project_members SET role = ?, updated_at = ?
			WHERE project_id = ? AND subject = ? AND repositories = ? RETURNING created_at, id`,
			m.Role, now.UnixNano(), id, m.Subject, m.Repositories).Scan(&cre, &m.ID)
		m.CreatedAt = fromUnix(cre)
		return notFound(memberName(m), err)
	})
	s.changed(ctx, m.Project, err, Change{Kind: MemberUpdated, Project: m.Project, ProjectID: id, Subject: m.Subject,
		Repositories: m.Repositories, Role: m.Role, Time: now})
	if err != nil {
		return Member{}, err
	}
	return m, nil
}

// RemoveMember removes one grant, or returns ErrNotFound.
func (s *Store) RemoveMember(ctx context.Context, project, subject, repositories string) error {
	m := Member{Project: project, Subject: subject, Repositories: repositories}
	now := s.timestamp()
	var id int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) (err error) {
		if id, err = projectIDTx(ctx, tx, project); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `DELETE FROM project_members
			WHERE project_id = ? AND subject = ? AND repositories = ? RETURNING role`,
			id, subject, repositories).Scan(&m.Role)
		return notFound(memberName(m), err)
	})
	s.changed(ctx, project, err, Change{Kind: MemberRemoved, Project: project, ProjectID: id, Subject: subject,
		Repositories: repositories, Role: m.Role, Time: now})
	return err
}

// ListMembers returns one page of a project's members ordered by subject
// and repositories, and how many members f selects in all. A project that
// does not exist is ErrNotFound.
func (s *Store) ListMembers(ctx context.Context, project string, f MemberFilter, pg Page) ([]Member, int, error) {
	pg, err := normalizedPage(pg)
	if err != nil {
		return nil, 0, err
	}
	p, err := s.Get(ctx, project)
	if err != nil {
		return nil, 0, err
	}
	// SQLite's LIKE ignores the case of ASCII letters, PostgreSQL's does
	// not: both sides are lowered, ASCII only (SQLite's LOWER, and
	// PostgreSQL's on a COLLATE "C" column), so both engines match alike.
	const where = memberFrom + ` WHERE m.project_id = ? AND LOWER(m.subject) LIKE ? ESCAPE '\'`
	args := []any{p.ID, escapeLike(lowerASCII(f.SubjectPrefix)) + "%"}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list members: %w", err)
	}
	out, err := s.members(ctx, `SELECT `+memberCols+where+` ORDER BY m.subject, m.repositories LIMIT ? OFFSET ?`,
		append(args, pg.Limit, pg.Offset)...)
	return out, total, err
}

// MembershipsOf returns every grant held by any of subjects, across all
// projects, ordered by project, subject and repositories: with a user and
// their groups, what an RBAC policy for that principal is built from.
func (s *Store) MembershipsOf(ctx context.Context, subjects []string) ([]Member, error) {
	subjects = slices.Compact(slices.Sorted(slices.Values(subjects)))
	out := []Member{}
	for chunk := range slices.Chunk(subjects, 512) {
		in, args := inList(chunk)
		ms, err := s.members(ctx, `SELECT `+memberCols+memberFrom+` WHERE m.subject IN (`+in+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	slices.SortFunc(out, compareMembers)
	return out, nil
}

func compareMembers(a, b Member) int {
	if c := strings.Compare(a.Project, b.Project); c != 0 {
		return c
	}
	if c := strings.Compare(a.Subject, b.Subject); c != 0 {
		return c
	}
	return strings.Compare(a.Repositories, b.Repositories)
}

// allMembersPage is how many rows AllMembers reads per query.
const allMembersPage = 500

// AllMembers yields every grant of every project, ordered by project,
// subject and repositories, for building a full policy. It reads in pages
// and holds no database connection while the caller runs, so the caller
// may use the Store inside the loop; it is not a snapshot: changes made
// meanwhile may or may not be seen. On error it yields the error once and
// stops.
func (s *Store) AllMembers(ctx context.Context) iter.Seq2[Member, error] {
	return func(yield func(Member, error) bool) {
		var after Member
		for {
			page, err := s.members(ctx, `SELECT `+memberCols+memberFrom+`
				WHERE (p.name, m.subject, m.repositories) > (?, ?, ?)
				ORDER BY p.name, m.subject, m.repositories LIMIT ?`,
				after.Project, after.Subject, after.Repositories, allMembersPage)
			if err != nil {
				yield(Member{}, err)
				return
			}
			for _, m := range page {
				if !yield(m, nil) {
					return
				}
			}
			if len(page) < allMembersPage {
				return
			}
			after = page[len(page)-1]
		}
	}
}

// lowerASCII lowers A-Z only, as LOWER does in SQLite and in PostgreSQL's
// C collation.
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// projectIDTx returns the id of the project named name, or ErrNotFound.
func projectIDTx(ctx context.Context, tx *sqldb.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM project_projects WHERE name = ?`, name).Scan(&id)
	return id, notFound(fmt.Sprintf("project %q", name), err)
}

func (s *Store) members(ctx context.Context, q string, args ...any) ([]Member, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
