package auth

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations/sqlite/*_usergroups.sql migrations/postgres/*_usergroups.sql
var userGroupsMigrations embed.FS

// GroupType is the kind of a user group, as Harbor numbers them.
type GroupType int

// The group types.
const (
	GroupLDAP GroupType = 1 // a directory group, named by its DN
	GroupHTTP GroupType = 2 // a group an HTTP authentication proxy reports
	GroupOIDC GroupType = 3 // a group an OIDC provider reports
)

// Bounds of a group's fields.
const (
	MaxGroupNameLength = 255
	MaxGroupDNLength   = 1000
)

// memberGroupPrefix is how project memberships spell a group subject.
const memberGroupPrefix = "group:"

// UserGroup is a group that project memberships can name.
type UserGroup struct {
	ID     int64 // assigned by Create, never reused
	Name   string
	Type   GroupType
	LDAPDN string // the DN of a GroupLDAP group, as the caller canonicalised it; "" for the others
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Member is the name project memberships bind after "group:" (and what
// the identity provider reports in a principal's groups): the DN of an
// LDAP group, the name of the others.
func (g UserGroup) Member() string {
	if g.Type == GroupLDAP {
		return g.LDAPDN
	}
	return g.Name
}

// GroupMemberships removes or moves the project grants of a group subject
// ("group:<name or DN>") when its group is deleted or renamed. The server
// implements it over the project store.
type GroupMemberships interface {
	ForgetSubject(ctx context.Context, subject string) error
	MoveSubject(ctx context.Context, from, to string) error
}

// UserGroups stores user groups in SQL. It is safe for concurrent use.
type UserGroups struct {
	db          *sqldb.DB
	now         func() time.Time
	memberships GroupMemberships
}

// UserGroupOption configures UserGroups.
type UserGroupOption func(*UserGroups)

// WithGroupMemberships sets what removes a deleted group's grants and
// moves a renamed one's. Without it, grants are left as they are.
func WithGroupMemberships(m GroupMemberships) UserGroupOption {
	return func(s *UserGroups) { s.memberships = m }
}

// WithGroupClock sets the time source of creation and update times.
func WithGroupClock(now func() time.Time) UserGroupOption {
	return func(s *UserGroups) { s.now = now }
}

// NewUserGroups returns a user group store over db, applying its
// migrations.
func NewUserGroups(ctx context.Context, db *sqldb.DB, opts ...UserGroupOption) (*UserGroups, error) {
	if err := migrate(ctx, db, "auth.usergroups", userGroupsMigrations); err != nil {
		return nil, err
	}
	s := &UserGroups{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

func groupInvalid(format string, args ...any) error {
	return fmt.Errorf("user group: "+format+": %w", append(args, ErrInvalid)...)
}

// validate trims and checks a group's fields.
func (g UserGroup) validate() (UserGroup, error) {
	g.Name, g.LDAPDN = strings.TrimSpace(g.Name), strings.TrimSpace(g.LDAPDN)
	if err := validGroupName(g.Name); err != nil {
		return g, err
	}
	switch g.Type {
	case GroupLDAP:
		if g.LDAPDN == "" {
			return g, groupInvalid("an LDAP group needs its DN")
		}
		if len(g.LDAPDN) > MaxGroupDNLength || !printableText(g.LDAPDN) {
			return g, groupInvalid("DN longer than %d bytes or with unprintable characters", MaxGroupDNLength)
		}
	case GroupHTTP, GroupOIDC:
		if g.LDAPDN != "" {
			return g, groupInvalid("only LDAP groups (type 1) have a DN")
		}
	default:
		return g, groupInvalid("type %d: want 1 (LDAP), 2 (HTTP) or 3 (OIDC)", g.Type)
	}
	return g, nil
}

func validGroupName(name string) error {
	switch {
	case name == "":
		return groupInvalid("a group needs a name")
	case len(name) > MaxGroupNameLength:
		return groupInvalid("name longer than %d bytes", MaxGroupNameLength)
	case !printableText(name):
		return groupInvalid("name %q has unprintable characters", name)
	}
	return nil
}

func printableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

const groupColumns = `id, name, group_type, ldap_dn, created_at, updated_at`

func scanGroup(r rowScanner) (UserGroup, error) {
	var g UserGroup
	var created, updated int64
	err := r.Scan(&g.ID, &g.Name, &g.Type, &g.LDAPDN, &created, &updated)
	g.CreatedAt, g.UpdatedAt = fromNanos(created), fromNanos(updated)
	return g, err
}

func groupNotFound(what string) error { return fmt.Errorf("user group %s: %w", what, ErrNotFound) }

func groupTaken(g UserGroup) error {
	if g.Type == GroupLDAP {
		return fmt.Errorf("a user group for DN %q: %w", g.LDAPDN, ErrExists)
	}
	return fmt.Errorf("a user group named %q: %w", g.Name, ErrExists)
}

// Create stores a new group and returns it with its ID and times. A group
// with the same member name (an LDAP group's DN, another's name) is
// ErrExists.
func (s *UserGroups) Create(ctx context.Context, g UserGroup) (UserGroup, error) {
	g, err := g.validate()
	if err != nil {
		return UserGroup{}, err
	}
	now := s.now().UTC()
	g.CreatedAt, g.UpdatedAt = now, now
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// A taken subject inserts nothing: no failed statement, which
		// would abort a PostgreSQL transaction.
		return tx.QueryRow(ctx, `INSERT INTO auth_usergroups (name, group_type, ldap_dn, subject, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
			g.Name, g.Type, g.LDAPDN, g.Member(), nanos(now), nanos(now)).Scan(&g.ID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return UserGroup{}, groupTaken(g)
	}
	if err != nil {
		return UserGroup{}, fmt.Errorf("auth: create user group: %w", err)
	}
	return g, nil
}

// Get returns group id, or ErrNotFound.
func (s *UserGroups) Get(ctx context.Context, id int64) (UserGroup, error) {
	return s.one(ctx, fmt.Sprint(id), `WHERE id = ?`, id)
}

// ByName returns the group of type t named name (the oldest, for LDAP
// groups, whose names need not be unique), or ErrNotFound.
func (s *UserGroups) ByName(ctx context.Context, t GroupType, name string) (UserGroup, error) {
	return s.one(ctx, fmt.Sprintf("%q", name), `WHERE group_type = ? AND name = ? ORDER BY id LIMIT 1`, t, name)
}

// ByDN returns the LDAP group whose DN is dn (spelled as it was stored:
// canonicalise it as Create's caller did), or ErrNotFound.
func (s *UserGroups) ByDN(ctx context.Context, dn string) (UserGroup, error) {
	return s.one(ctx, fmt.Sprintf("%q", dn), `WHERE group_type = ? AND ldap_dn = ?`, GroupLDAP, dn)
}

func (s *UserGroups) one(ctx context.Context, what, where string, args ...any) (UserGroup, error) {
	g, err := scanGroup(s.db.QueryRow(ctx, `SELECT `+groupColumns+` FROM auth_usergroups `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return UserGroup{}, groupNotFound(what)
	}
	if err != nil {
		return UserGroup{}, fmt.Errorf("auth: read user group: %w", err)
	}
	return g, nil
}

// Rename changes group id's name and returns the group. An HTTP or OIDC
// group's grants follow it to its new name (GroupMemberships.MoveSubject);
// a name another group has is ErrExists.
func (s *UserGroups) Rename(ctx context.Context, id int64, name string) (UserGroup, error) {
	name = strings.TrimSpace(name)
	if err := validGroupName(name); err != nil {
		return UserGroup{}, err
	}
	var before, after UserGroup
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		var err error
		if before, err = scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM auth_usergroups WHERE id = ?`, id)); err != nil {
			return err
		}
		after = before
		after.Name, after.UpdatedAt = name, s.now().UTC()
		var n int
		// A taken subject is checked first: a failed UPDATE would abort
		// a PostgreSQL transaction.
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM auth_usergroups WHERE subject = ? AND id <> ?`,
			after.Member(), id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return groupTaken(after)
		}
		_, err = tx.Exec(ctx, `UPDATE auth_usergroups SET name = ?, subject = ?, updated_at = ? WHERE id = ?`,
			after.Name, after.Member(), nanos(after.UpdatedAt), id)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return UserGroup{}, groupNotFound(fmt.Sprint(id))
	case errors.Is(err, ErrExists):
		return UserGroup{}, err
	case err != nil:
		return UserGroup{}, fmt.Errorf("auth: rename user group: %w", err)
	}
	if s.memberships != nil && before.Member() != after.Member() {
		if err := s.memberships.MoveSubject(ctx, memberGroupPrefix+before.Member(), memberGroupPrefix+after.Member()); err != nil {
			return after, fmt.Errorf("auth: user group %d renamed, moving its project memberships: %w", id, err)
		}
	}
	return after, nil
}

// Delete removes group id and its project memberships, or returns
// ErrNotFound. The memberships go first, so that a failure leaves the
// group to delete again rather than grants nothing names.
func (s *UserGroups) Delete(ctx context.Context, id int64) error {
	g, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if s.memberships != nil {
		if err := s.memberships.ForgetSubject(ctx, memberGroupPrefix+g.Member()); err != nil {
			return fmt.Errorf("auth: deleting user group %d's project memberships: %w", id, err)
		}
	}
	var n int64
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM auth_usergroups WHERE id = ?`, id)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: delete user group: %w", err)
	}
	if n == 0 {
		return groupNotFound(fmt.Sprint(id))
	}
	return nil
}
