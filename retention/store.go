package retention

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/tagselect"
)

// ProjectPolicy is a project's retention policy as the Service keeps it:
// at most one a project. Its ID is its project's id, so a client that
// knows the project knows where its policy is (Harbor finds it through the
// project's retention_id metadata instead).
type ProjectPolicy struct {
	// ID is the policy's id: ProjectID.
	ID        int64
	ProjectID int64
	Policy
	// Schedule is a cron expression (an optional seconds field first,
	// in UTC) of scheduled executions; empty for none.
	Schedule string
	// NextRun is when the schedule next fires (zero for none); read-only.
	NextRun   time.Time
	Creator   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Execution statuses, Harbor's.
const (
	StatusPending = "Pending"
	StatusRunning = "Running"
	StatusSuccess = "Success"
	StatusError   = "Error"
	StatusStopped = "Stopped"
)

// Triggers of an execution, Harbor's.
const (
	TriggerManual   = "MANUAL"
	TriggerSchedule = "SCHEDULE"
)

// Execution is one run of a project's policy.
type Execution struct {
	ID       int64
	PolicyID int64 // the policy's id: its project's id
	Status   string
	Trigger  string // TriggerManual or TriggerSchedule
	// DryRun executions decide and log, and delete nothing.
	DryRun    bool
	StartTime time.Time
	EndTime   time.Time // zero until it ends
	// Error says why an execution ended Error before its tasks did.
	Error string
}

// Task is what an execution did in one repository.
type Task struct {
	ID          int64
	ExecutionID int64
	PolicyID    int64
	Repository  string
	JobID       string // the execution's durable job
	Status      string
	StartTime   time.Time // zero until it starts
	EndTime     time.Time // zero until it ends
	// Total is how many artifacts of the repository were judged (an
	// image index with its platforms counts once); Retained how many of
	// them are still there (or, for a dry run, would be).
	Total    int
	Retained int
}

// StatusCode is Harbor's code of a task status: 0 pending, 2 running, 3
// finished (stopped, failed or succeeded).
func (t Task) StatusCode() int { return StatusCode(t.Status) }

// StatusCode is Harbor's code of a status (see Task.StatusCode).
func StatusCode(status string) int {
	switch status {
	case StatusPending:
		return 0
	case StatusRunning:
		return 2
	}
	return 3
}

func finished(status string) bool { return status != StatusPending && status != StatusRunning }

// Page sizes of listings.
const (
	defaultPage = 20
	maxPage     = 100
)

// storedSelector and storedRule are how the rules column holds a
// policy's rules.
type storedSelector struct {
	Kind       string `json:"kind,omitempty"`
	Decoration string `json:"decoration"`
	Pattern    string `json:"pattern"`
	Untagged   bool   `json:"untagged,omitempty"`
}

type storedRule struct {
	Disabled       bool             `json:"disabled,omitempty"`
	Template       string           `json:"template"`
	Params         map[string]int   `json:"params,omitempty"`
	TagSelectors   []storedSelector `json:"tag_selectors,omitempty"`
	ScopeSelectors []storedSelector `json:"scope_selectors,omitempty"`
	LabelSelectors []storedLabels   `json:"label_selectors,omitempty"`
}

// storedLabels is a LabelSelector in the rules column.
type storedLabels struct {
	Decoration string   `json:"decoration"`
	Labels     []string `json:"labels"`
}

func storeLabelSelectors(ls []LabelSelector) []storedLabels {
	if len(ls) == 0 {
		return nil
	}
	out := make([]storedLabels, len(ls))
	for i, l := range ls {
		out[i] = storedLabels{Decoration: l.Decoration, Labels: l.Labels}
	}
	return out
}

func loadLabelSelectors(ls []storedLabels) []LabelSelector {
	if len(ls) == 0 {
		return nil
	}
	out := make([]LabelSelector, len(ls))
	for i, l := range ls {
		out[i] = LabelSelector{Decoration: l.Decoration, Labels: l.Labels}
	}
	return out
}

func storeSelectors(ss []tagselect.Selector) []storedSelector {
	out := make([]storedSelector, len(ss))
	for i, s := range ss {
		out[i] = storedSelector{Kind: s.Kind, Decoration: s.Decoration, Pattern: s.Pattern, Untagged: s.Untagged}
	}
	return out
}

func loadSelectors(ss []storedSelector) []tagselect.Selector {
	if len(ss) == 0 {
		return nil
	}
	out := make([]tagselect.Selector, len(ss))
	for i, s := range ss {
		out[i] = tagselect.Selector{Kind: s.Kind, Decoration: s.Decoration, Pattern: s.Pattern, Untagged: s.Untagged}
	}
	return out
}

func encodeRules(rules []Rule) string {
	out := make([]storedRule, len(rules))
	for i, r := range rules {
		sr := storedRule{Disabled: r.Disabled, Template: r.Template, TagSelectors: storeSelectors(r.TagSelectors),
			ScopeSelectors: storeSelectors(r.ScopeSelectors), LabelSelectors: storeLabelSelectors(r.LabelSelectors)}
		if t, ok := template(r.Template); ok && t.Param != "" {
			sr.Params = map[string]int{t.Param: r.Params[t.Param]}
		}
		out[i] = sr
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeRules(raw string) ([]Rule, error) {
	var st []storedRule
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, err
	}
	out := make([]Rule, len(st))
	for i, r := range st {
		out[i] = Rule{Disabled: r.Disabled, Template: r.Template, Params: r.Params,
			TagSelectors: loadSelectors(r.TagSelectors), ScopeSelectors: loadSelectors(r.ScopeSelectors),
			LabelSelectors: loadLabelSelectors(r.LabelSelectors)}
	}
	return out, nil
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

type rowScanner interface{ Scan(...any) error }

const policyColumns = `project_id, algorithm, rules, schedule, next_run_at, creator, created_at, updated_at`

func scanPolicy(row rowScanner) (ProjectPolicy, error) {
	var p ProjectPolicy
	var rules string
	var next, created, updated int64
	if err := row.Scan(&p.ProjectID, &p.Algorithm, &rules, &p.Schedule, &next, &p.Creator, &created, &updated); err != nil {
		return p, err
	}
	var err error
	if p.Rules, err = decodeRules(rules); err != nil {
		return p, fmt.Errorf("retention: policy %d: stored rules: %w", p.ProjectID, err)
	}
	p.ID, p.NextRun, p.CreatedAt, p.UpdatedAt = p.ProjectID, fromNanos(next), fromNanos(created), fromNanos(updated)
	return p, nil
}

func policyNotFound(id int64) error {
	return fmt.Errorf("retention: policy %d: %w", id, core.ErrNotFound)
}

// checkPolicy validates a policy for storing and returns it normalized,
// with the first time its schedule fires after now.
func checkPolicy(p ProjectPolicy, now time.Time) (ProjectPolicy, int64, error) {
	if p.ProjectID <= 0 {
		return p, 0, core.New(core.ErrInvalid, "retention: a policy needs a project id")
	}
	if p.ID != 0 && p.ID != p.ProjectID {
		return p, 0, core.New(core.ErrInvalid, fmt.Sprintf("retention: policy id %d for project %d: a policy's id is its project's", p.ID, p.ProjectID))
	}
	p.ID = p.ProjectID
	if p.Algorithm == "" {
		p.Algorithm = AlgorithmOR
	}
	if err := Validate(p.Policy); err != nil {
		return p, 0, err
	}
	p.Schedule = strings.TrimSpace(p.Schedule)
	var next int64
	if p.Schedule != "" {
		sc, err := schedule.Schedule{Type: schedule.Custom, Cron: p.Schedule}.Normalized()
		if err != nil {
			return p, 0, fmt.Errorf("retention: schedule: %w", err)
		}
		p.Schedule = sc.Cron
		next = nanos(sc.Next(now))
	}
	p.NextRun = fromNanos(next)
	return p, next, nil
}

// Create stores the policy of p.ProjectID (whose ID is that project's id)
// and returns it. A project holds one policy: a second is core.ErrExists.
// An unknown project is core.ErrNotFound; a policy that does not
// validate (see Validate; a schedule that does not parse) core.ErrInvalid.
func (s *Service) Create(ctx context.Context, p ProjectPolicy) (ProjectPolicy, error) {
	now := s.now().UTC()
	p, next, err := checkPolicy(p, now)
	if err != nil {
		return ProjectPolicy{}, err
	}
	if _, err := s.projects.GetByID(ctx, p.ProjectID); err != nil {
		return ProjectPolicy{}, fmt.Errorf("retention: project %d: %w", p.ProjectID, err)
	}
	if p.Creator == "" {
		p.Creator = core.ActorFrom(ctx)
	}
	p.CreatedAt, p.UpdatedAt = fromNanos(now.UnixNano()), fromNanos(now.UnixNano())
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// ON CONFLICT, not a count first: on PostgreSQL two creators at
		// once would both count none, and the second would fail on the
		// key instead of with core.ErrExists.
		res, err := tx.Exec(ctx, `INSERT INTO retention_policies (`+policyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id) DO NOTHING`,
			p.ProjectID, p.Algorithm, encodeRules(p.Rules), p.Schedule, next, p.Creator, now.UnixNano(), now.UnixNano())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = fmt.Errorf("retention: project %d has a policy already (id %d): update it: %w", p.ProjectID, p.ProjectID, core.ErrExists)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return ProjectPolicy{}, err
	}
	return s.Get(ctx, p.ID)
}

// Get returns policy id (its project's id).
func (s *Service) Get(ctx context.Context, id int64) (ProjectPolicy, error) {
	p, err := scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+` FROM retention_policies WHERE project_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ProjectPolicy{}, policyNotFound(id)
	}
	return p, err
}

// Update replaces policy p.ID's algorithm, rules and schedule, checked as
// Create checks them, and returns it.
func (s *Service) Update(ctx context.Context, p ProjectPolicy) (ProjectPolicy, error) {
	if p.ProjectID == 0 {
		p.ProjectID = p.ID
	}
	now := s.now().UTC()
	p, next, err := checkPolicy(p, now)
	if err != nil {
		return ProjectPolicy{}, err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE retention_policies SET algorithm = ?, rules = ?, schedule = ?, next_run_at = ?,
			updated_at = ? WHERE project_id = ?`, p.Algorithm, encodeRules(p.Rules), p.Schedule, next, now.UnixNano(), p.ProjectID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = policyNotFound(p.ID)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return ProjectPolicy{}, err
	}
	return s.Get(ctx, p.ID)
}

// Delete removes policy id with its executions, their tasks and logs; an
// execution in progress stops.
func (s *Service) Delete(ctx context.Context, id int64) error {
	jobIDs, err := s.inProgressJobs(ctx, id)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM retention_policies WHERE project_id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = policyNotFound(id)
			}
			return err
		}
		return deleteHistory(ctx, tx, id)
	})
	if err != nil {
		return err
	}
	s.cancelJobs(ctx, jobIDs)
	return nil
}

// ForgetProject removes, inside tx (the transaction deleting the
// project), the project's policy and its executions. An execution in
// progress notices at its next repository and ends.
func (s *Service) ForgetProject(ctx context.Context, tx *sqldb.Tx, projectID int64) error {
	if projectID <= 0 {
		return core.New(core.ErrInvalid, "retention: ForgetProject needs a project id")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM retention_policies WHERE project_id = ?`, projectID); err != nil {
		return fmt.Errorf("retention: forget project %d: %w", projectID, err)
	}
	if err := deleteHistory(ctx, tx, projectID); err != nil {
		return fmt.Errorf("retention: forget project %d: %w", projectID, err)
	}
	return nil
}

func deleteHistory(ctx context.Context, tx *sqldb.Tx, policyID int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM retention_tasks WHERE policy_id = ?`, policyID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM retention_executions WHERE policy_id = ?`, policyID)
	return err
}

const executionColumns = `id, policy_id, status, trigger_kind, dry_run, error, start_time, end_time`

func scanExecution(row rowScanner) (Execution, error) {
	var e Execution
	var start, end int64
	err := row.Scan(&e.ID, &e.PolicyID, &e.Status, &e.Trigger, &e.DryRun, &e.Error, &start, &end)
	e.StartTime, e.EndTime = fromNanos(start), fromNanos(end)
	return e, err
}

func executionNotFound(policyID, id int64) error {
	return fmt.Errorf("retention: execution %d of policy %d: %w", id, policyID, core.ErrNotFound)
}

// Execution returns execution id of policy policyID.
func (s *Service) Execution(ctx context.Context, policyID, id int64) (Execution, error) {
	e, err := scanExecution(s.db.QueryRow(ctx, `SELECT `+executionColumns+` FROM retention_executions
		WHERE policy_id = ? AND id = ?`, policyID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Execution{}, executionNotFound(policyID, id)
	}
	return e, err
}

// execution returns execution id, whatever its policy.
func (s *Service) execution(ctx context.Context, id int64) (Execution, error) {
	e, err := scanExecution(s.db.QueryRow(ctx, `SELECT `+executionColumns+` FROM retention_executions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Execution{}, fmt.Errorf("retention: execution %d: %w", id, core.ErrNotFound)
	}
	return e, err
}

// Executions lists the executions of policy policyID, newest first (default
// 20, at most 100 a page), with their total count. An unknown policy is
// core.ErrNotFound.
func (s *Service) Executions(ctx context.Context, policyID int64, page core.Page) ([]Execution, int, error) {
	if _, err := s.Get(ctx, policyID); err != nil {
		return nil, 0, err
	}
	page = page.Bounded(defaultPage, maxPage)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM retention_executions WHERE policy_id = ?`, policyID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+executionColumns+` FROM retention_executions WHERE policy_id = ?
		ORDER BY id DESC LIMIT ? OFFSET ?`, policyID, page.Limit, page.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Execution{}
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, total, rows.Err()
}

const taskColumns = `t.id, t.execution_id, t.policy_id, t.repository, t.job_id, t.status, t.total, t.retained, t.start_time, t.end_time`

func scanTask(row rowScanner) (Task, error) {
	var t Task
	var start, end int64
	err := row.Scan(&t.ID, &t.ExecutionID, &t.PolicyID, &t.Repository, &t.JobID, &t.Status, &t.Total, &t.Retained, &start, &end)
	t.StartTime, t.EndTime = fromNanos(start), fromNanos(end)
	return t, err
}

// Tasks lists the tasks of execution executionID of policy policyID, one
// a repository, in order (default 20, at most 100 a page), with their
// total count.
func (s *Service) Tasks(ctx context.Context, policyID, executionID int64, page core.Page) ([]Task, int, error) {
	if _, err := s.Execution(ctx, policyID, executionID); err != nil {
		return nil, 0, err
	}
	page = page.Bounded(defaultPage, maxPage)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM retention_tasks WHERE execution_id = ?`, executionID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+taskColumns+` FROM retention_tasks t WHERE t.execution_id = ?
		ORDER BY t.id LIMIT ? OFFSET ?`, executionID, page.Limit, page.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// Task returns task id of execution executionID of policy policyID.
func (s *Service) Task(ctx context.Context, policyID, executionID, id int64) (Task, error) {
	t, err := scanTask(s.db.QueryRow(ctx, `SELECT `+taskColumns+` FROM retention_tasks t
		WHERE t.id = ? AND t.execution_id = ? AND t.policy_id = ?`, id, executionID, policyID))
	if errors.Is(err, sql.ErrNoRows) {
		return Task{}, fmt.Errorf("retention: task %d of execution %d of policy %d: %w", id, executionID, policyID, core.ErrNotFound)
	}
	return t, err
}

// TaskLog returns the log of a task: what was retained, deleted or
// protected in its repository, and why.
func (s *Service) TaskLog(ctx context.Context, policyID, executionID, id int64) (string, error) {
	var l string
	err := s.db.QueryRow(ctx, `SELECT log FROM retention_tasks WHERE id = ? AND execution_id = ? AND policy_id = ?`,
		id, executionID, policyID).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("retention: task %d of execution %d of policy %d: %w", id, executionID, policyID, core.ErrNotFound)
	}
	return l, err
}
