package immutable

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/tagselect"
)

//go:embed migrations
var migrations embed.FS

// ProjectRule is a rule as a Store keeps it: the rule, the project it
// belongs to (by its immutable id) and what Harbor's API shows of it.
type ProjectRule struct {
	Rule
	ProjectID int64
	// Priority is kept as given (Harbor's rules carry one; it does not
	// change which rule holds a tag).
	Priority  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DefaultCacheTTL bounds how long a Store serves a project's rules from
// memory: a change made through another Store (another process) is seen
// within it; changes made through this Store are seen at once.
const DefaultCacheTTL = 5 * time.Second

// maxCached bounds the projects whose rules are held in memory; past it
// the cache starts over.
const maxCached = 10000

// Page sizes of List.
const (
	defaultPage = 20
	maxPage     = 100
)

// Store keeps the immutability rules of projects in SQL, keyed by project
// id, at most MaxRules a project. Rules, which the registry's gate asks on
// every push and deletion, is served from memory (see DefaultCacheTTL). It
// is safe for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
	ttl time.Duration

	mu    sync.Mutex
	gen   uint64
	cache map[int64]cached
}

type cached struct {
	rules []Rule
	at    time.Time
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithCacheTTL sets how long Rules serves a project's rules from memory
// (default DefaultCacheTTL; 0 reads the database every time).
func WithCacheTTL(d time.Duration) StoreOption { return func(s *Store) { s.ttl = d } }

// WithClock sets the time source of the rules' timestamps.
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// NewStore applies the package's migrations to db and returns a Store.
func NewStore(ctx context.Context, db *sqldb.DB, opts ...StoreOption) (*Store, error) {
	if db == nil {
		return nil, errors.New("immutable: a database is required")
	}
	s := &Store{db: db, now: time.Now, ttl: DefaultCacheTTL, cache: map[int64]cached{}}
	for _, o := range opts {
		o(s)
	}
	if err := db.MigrateDialect(ctx, "immutable", migrations); err != nil {
		return nil, fmt.Errorf("immutable: %w", err)
	}
	return s, nil
}

// storedSelector is a selector as the selector columns hold it.
type storedSelector struct {
	Kind       string `json:"kind,omitempty"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	Untagged   bool   `json:"untagged,omitempty"`
}

func encodeSelectors(ss []tagselect.Selector) string {
	out := make([]storedSelector, len(ss))
	for i, s := range ss {
		kind := s.Kind
		if kind == tagselect.Kind {
			kind = ""
		}
		out[i] = storedSelector{Kind: kind, Decoration: s.Decoration, Pattern: s.Pattern, Untagged: s.Untagged}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeSelectors(raw string) ([]tagselect.Selector, error) {
	var st []storedSelector
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, err
	}
	out := make([]tagselect.Selector, len(st))
	for i, s := range st {
		out[i] = tagselect.Selector{Kind: s.Kind, Decoration: s.Decoration, Pattern: s.Pattern, Untagged: s.Untagged}
	}
	return out, nil
}

// normalize checks a rule for storing and returns its selector columns.
// Untagged means nothing to immutability and is dropped.
func normalize(r *ProjectRule) (tags, scope, both string, err error) {
	if r.ProjectID <= 0 {
		return "", "", "", core.New(core.ErrInvalid, "immutable: a rule needs a project id")
	}
	for i := range r.TagSelectors {
		r.TagSelectors[i].Untagged = false
	}
	if err := r.Rule.Validate(); err != nil {
		return "", "", "", fmt.Errorf("immutable: %w", err)
	}
	tags, scope = encodeSelectors(r.TagSelectors), encodeSelectors(r.ScopeSelectors)
	return tags, scope, `{"scope":` + scope + `,"tag":` + tags + `}`, nil
}

const ruleColumns = `id, project_id, priority, disabled, tag_selectors, scope_selectors, created_at, updated_at`

type rowScanner interface{ Scan(...any) error }

func scanRule(row rowScanner) (ProjectRule, error) {
	var r ProjectRule
	var tags, scope string
	var created, updated int64
	if err := row.Scan(&r.ID, &r.ProjectID, &r.Priority, &r.Disabled, &tags, &scope, &created, &updated); err != nil {
		return r, err
	}
	var err error
	if r.TagSelectors, err = decodeSelectors(tags); err != nil {
		return r, fmt.Errorf("immutable: rule %d: stored tag selectors: %w", r.ID, err)
	}
	if r.ScopeSelectors, err = decodeSelectors(scope); err != nil {
		return r, fmt.Errorf("immutable: rule %d: stored repository selectors: %w", r.ID, err)
	}
	r.CreatedAt, r.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return r, nil
}

func notFound(projectID, id int64) error {
	return fmt.Errorf("immutable: rule %d of project %d: %w", id, projectID, core.ErrNotFound)
}

func duplicate(projectID int64) error {
	return fmt.Errorf("immutable: project %d has a rule with the same selectors already: %w", projectID, core.ErrExists)
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") || strings.Contains(err.Error(), "duplicate key"))
}

// Create stores a new rule of r.ProjectID and returns it with its ID. It
// is invalid (core.ErrInvalid) unless it validates (Rule.Validate) and the
// project holds fewer than MaxRules; a rule with the same selectors as
// one the project holds already exists (core.ErrExists).
func (s *Store) Create(ctx context.Context, r ProjectRule) (ProjectRule, error) {
	r.ID = 0
	r.Rule = cloneRule(r.Rule)
	tags, scope, both, err := normalize(&r)
	if err != nil {
		return ProjectRule{}, err
	}
	defer s.invalidate(r.ProjectID)
	now := s.now().UTC()
	r.CreatedAt, r.UpdatedAt = time.Unix(0, now.UnixNano()).UTC(), time.Unix(0, now.UnixNano()).UTC()
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// The count decides the insert. On PostgreSQL, where writers run
		// side by side, creations take turns (they are rare): each counts
		// what the others committed, and a project never exceeds
		// MaxRules. On SQLite the transaction excludes every other writer.
		if tx.ForUpdate() != "" {
			if _, err := tx.Exec(ctx, `LOCK TABLE immutable_rules IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM immutable_rules WHERE project_id = ?`, r.ProjectID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxRules {
			return core.New(core.ErrInvalid, fmt.Sprintf("immutable: project %d holds %d rules already: at most %d", r.ProjectID, n, MaxRules))
		}
		// A rule with the same selectors inserts nothing (no row to scan).
		err := tx.QueryRow(ctx, `INSERT INTO immutable_rules (project_id, priority, disabled, tag_selectors, scope_selectors,
			selectors, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
			r.ProjectID, r.Priority, r.Disabled, tags, scope, both, now.UnixNano(), now.UnixNano()).Scan(&r.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return duplicate(r.ProjectID)
		}
		return err
	})
	if err != nil {
		return ProjectRule{}, err
	}
	return r, nil
}

// Get returns rule id of project projectID; a rule of another project is
// not found (core.ErrNotFound).
func (s *Store) Get(ctx context.Context, projectID, id int64) (ProjectRule, error) {
	r, err := scanRule(s.db.QueryRow(ctx, `SELECT `+ruleColumns+` FROM immutable_rules WHERE project_id = ? AND id = ?`,
		projectID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ProjectRule{}, notFound(projectID, id)
	}
	return r, err
}

// List returns a page of the project's rules by id (default 20, at most
// 100 a page) and how many it holds.
func (s *Store) List(ctx context.Context, projectID int64, page core.Page) ([]ProjectRule, int, error) {
	page = page.Bounded(defaultPage, maxPage)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM immutable_rules WHERE project_id = ?`, projectID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+ruleColumns+` FROM immutable_rules WHERE project_id = ? ORDER BY id LIMIT ? OFFSET ?`,
		projectID, page.Limit, page.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []ProjectRule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Rules returns all the project's rules, enabled or not, by id: what
// Check and the Gate take. It is served from memory for the cache TTL
// (see WithCacheTTL); the slice is the caller's.
func (s *Store) Rules(ctx context.Context, projectID int64) ([]Rule, error) {
	s.mu.Lock()
	c, hit := s.cache[projectID]
	gen := s.gen
	s.mu.Unlock()
	if hit && s.ttl > 0 && time.Since(c.at) < s.ttl {
		return cloneRules(c.rules), nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+ruleColumns+` FROM immutable_rules WHERE project_id = ? ORDER BY id`, projectID)
	if err != nil {
		return nil, err
	}
	var rules []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		rules = append(rules, r.Rule)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if s.ttl > 0 {
		s.mu.Lock()
		if s.gen == gen { // no change since the read began
			if len(s.cache) >= maxCached {
				s.cache = map[int64]cached{}
			}
			s.cache[projectID] = cached{rules: rules, at: time.Now()}
		}
		s.mu.Unlock()
	}
	return cloneRules(rules), nil
}

// Update replaces rule r.ID of project r.ProjectID: its selectors, its
// priority and whether it is disabled, checked as Create checks them. It
// returns the stored rule.
func (s *Store) Update(ctx context.Context, r ProjectRule) (ProjectRule, error) {
	r.Rule = cloneRule(r.Rule)
	tags, scope, both, err := normalize(&r)
	if err != nil {
		return ProjectRule{}, err
	}
	defer s.invalidate(r.ProjectID)
	now := s.now().UTC()
	var out ProjectRule
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE immutable_rules SET priority = ?, disabled = ?, tag_selectors = ?, scope_selectors = ?,
			selectors = ?, updated_at = ? WHERE project_id = ? AND id = ?`,
			r.Priority, r.Disabled, tags, scope, both, now.UnixNano(), r.ProjectID, r.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = notFound(r.ProjectID, r.ID)
			}
			return err
		}
		out, err = scanRule(tx.QueryRow(ctx, `SELECT `+ruleColumns+` FROM immutable_rules WHERE id = ?`, r.ID))
		return err
	})
	if isUnique(err) {
		return ProjectRule{}, duplicate(r.ProjectID)
	}
	if err != nil {
		return ProjectRule{}, err
	}
	return out, nil
}

// Delete removes rule id of project projectID.
func (s *Store) Delete(ctx context.Context, projectID, id int64) error {
	defer s.invalidate(projectID)
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM immutable_rules WHERE project_id = ? AND id = ?`, projectID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = notFound(projectID, id)
			}
			return err
		}
		return nil
	})
}

// ForgetProject removes, inside tx (the transaction deleting the
// project), the project's rules.
func (s *Store) ForgetProject(ctx context.Context, tx *sqldb.Tx, projectID int64) error {
	defer s.invalidate(projectID)
	if projectID <= 0 {
		return core.New(core.ErrInvalid, "immutable: ForgetProject needs a project id")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM immutable_rules WHERE project_id = ?`, projectID); err != nil {
		return fmt.Errorf("immutable: forget project %d: %w", projectID, err)
	}
	return nil
}

// invalidate makes the next Rules of the project read the database, and
// keeps a read that began before the change from caching what it read.
func (s *Store) invalidate(projectID int64) {
	s.mu.Lock()
	s.gen++
	delete(s.cache, projectID)
	s.mu.Unlock()
}

func cloneRule(r Rule) Rule {
	r.TagSelectors = append([]tagselect.Selector(nil), r.TagSelectors...)
	r.ScopeSelectors = append([]tagselect.Selector(nil), r.ScopeSelectors...)
	return r
}

func cloneRules(rs []Rule) []Rule {
	if rs == nil {
		return nil
	}
	out := make([]Rule, len(rs))
	for i, r := range rs {
		out[i] = cloneRule(r)
	}
	return out
}
