package retention

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// executionArgs is the durable job of one execution.
type executionArgs struct {
	ExecutionID int64 `json:"execution_id"`
}

func (executionArgs) Kind() string { return "retention_execution" }

type worker struct{ s *Service }

// Timeout: an execution takes as long as its repositories do; Stop ends it.
func (w *worker) Timeout(*jobs.Job[executionArgs]) time.Duration { return -1 }

// active is an execution working in this process.
type active struct {
	cancel  context.CancelFunc
	stopped bool // Stop cancelled it
}

// Work runs an execution: a task per repository of the project, each
// listing the repository's artifacts, evaluating the policy and deleting
// what it does not retain. A run cut off by a crash or a shutdown runs
// again, with the tasks it had not finished.
func (w *worker) Work(ctx context.Context, job *jobs.Job[executionArgs]) error {
	s := w.s
	e, err := s.execution(ctx, job.Args.ExecutionID)
	if errors.Is(err, core.ErrNotFound) {
		return nil // deleted with its policy or project
	}
	if err != nil {
		return err
	}
	if finished(e.Status) {
		return nil // stopped before it started, or done
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.running[e.ID] = &active{cancel: cancel}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, e.ID)
		s.mu.Unlock()
	}()
	if err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE retention_executions SET status = ? WHERE id = ? AND status = ?`,
			StatusRunning, e.ID, StatusPending)
		return err
	}); err != nil {
		return err
	}
	r := &run{s: s, e: e, jobID: strconv.FormatInt(job.ID, 10)}
	status, errText := r.execute(ctx)
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil && status != StatusError {
		switch {
		case s.wasStopped(e.ID):
			status = StatusStopped
		default:
			cur, err := s.execution(bg, e.ID)
			switch {
			case errors.Is(err, core.ErrNotFound):
				return nil
			case err == nil && finished(cur.Status):
				status = cur.Status // stopped from another process
			default:
				// The runner is shutting down: the job runs again, and
				// the execution resumes with its unfinished tasks.
				return ctx.Err()
			}
		}
	}
	if status == "" {
		return nil // the execution went with its policy
	}
	if err := s.endExecution(bg, e.ID, status, errText); err != nil {
		return err
	}
	final, err := s.execution(bg, e.ID)
	if err != nil {
		return nil
	}
	// Tasks a stop from elsewhere left behind end with the execution.
	if err := s.closeTasks(bg, e.ID, final.Status); err != nil {
		s.log.WarnContext(bg, "retention: closing tasks", "execution", e.ID, "err", err)
	}
	s.stats.execution(final.Status, e.DryRun)
	if s.notify != nil && !e.DryRun && r.project != "" {
		s.notify(bg, r.policy.ProjectID, r.summary(bg, final))
	}
	return nil
}

func (s *Service) wasStopped(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.running[id]
	return a != nil && a.stopped
}

// closeTasks ends the tasks of an ended execution that did not end.
func (s *Service) closeTasks(ctx context.Context, id int64, status string) error {
	if status == StatusSuccess {
		status = StatusStopped
	}
	now := s.now().UTC().UnixNano()
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE retention_tasks SET status = ?, end_time = ? WHERE execution_id = ? AND status IN (?, ?)`,
			status, now, id, StatusPending, StatusRunning)
		return err
	})
}

// run is one execution at work.
type run struct {
	s       *Service
	e       Execution
	jobID   string
	policy  ProjectPolicy
	project string
	labels  bool // an enabled rule has label selectors: read the artifacts' labels
	deleted []DeletedArtifact
	nDel    int
}

// execute does the execution's work and says how it ended: "" when the
// execution is gone; any status but Error when ctx ended it.
func (r *run) execute(ctx context.Context) (status, errText string) {
	s := r.s
	pol, err := s.Get(ctx, r.e.PolicyID)
	if errors.Is(err, core.ErrNotFound) {
		return "", ""
	}
	if err != nil {
		return r.failed(ctx, "reading the policy", err)
	}
	r.policy = pol
	proj, err := s.projects.GetByID(ctx, pol.ProjectID)
	if err != nil {
		return r.failed(ctx, fmt.Sprintf("reading project %d", pol.ProjectID), err)
	}
	r.project = proj.Name
	var opts []Option
	if s.immutable != nil {
		rules, err := s.immutable.Rules(ctx, pol.ProjectID)
		if err != nil {
			return r.failed(ctx, "reading the immutability rules", err)
		}
		opts = append(opts, WithProtector(immutableTags(rules)))
	}
	if r.labels = needsLabels(pol.Policy); r.labels && s.labels == nil {
		return r.failed(ctx, "reading the artifacts' labels",
			errors.New("the policy selects by label and this service has no label source (WithArtifactLabels)"))
	}
	tasks, err := r.tasks(ctx)
	if err != nil {
		return r.failed(ctx, "listing the repositories", err)
	}
	failed := false
	for _, t := range tasks {
		if finished(t.Status) {
			failed = failed || t.Status == StatusError
			continue
		}
		if ctx.Err() != nil {
			return StatusStopped, ""
		}
		cur, err := s.execution(ctx, r.e.ID)
		switch {
		case errors.Is(err, core.ErrNotFound):
			return "", ""
		case err != nil:
			return r.failed(ctx, "reading the execution", err)
		case finished(cur.Status):
			return cur.Status, "" // stopped from another process
		}
		st := r.task(ctx, t, opts)
		if st == "" {
			return StatusStopped, "" // ctx ended it; Work tells a stop from a shutdown
		}
		failed = failed || st == StatusError
	}
	if failed {
		return StatusError, ""
	}
	return StatusSuccess, ""
}

func (r *run) failed(ctx context.Context, what string, err error) (string, string) {
	if ctx.Err() != nil {
		return StatusStopped, ""
	}
	return StatusError, what + ": " + err.Error()
}

// immutableTags protects the artifacts holding an immutable tag.
func immutableTags(rules []immutable.Rule) Protector {
	return func(a Artifact) (string, bool) {
		names := make([]string, len(a.Tags))
		for i, t := range a.Tags {
			names[i] = t.Name
		}
		tag, rule, held := immutable.CheckTags(rules, a.Repository, names)
		if !held {
			return "", false
		}
		if rule.ID != 0 {
			return fmt.Sprintf("the tag %s is immutable (immutability rule %d)", tag, rule.ID), true
		}
		return fmt.Sprintf("the tag %s is immutable", tag), true
	}
}

// pageSize is how many repositories or artifacts a listing reads at once.
const pageSize = 100

// tasks returns the execution's tasks, creating one for each repository
// of the project on its first attempt.
func (r *run) tasks(ctx context.Context) ([]Task, error) {
	s := r.s
	have, err := s.allTasks(ctx, r.e.ID)
	if err != nil || len(have) > 0 {
		return have, err
	}
	prefix := r.project + "/"
	var repos []string
	seen := map[string]bool{}
	for offset := 0; ; {
		page, total, err := s.reg.ListRepositories(ctx, prefix, core.Page{Offset: offset, Limit: pageSize})
		if err != nil {
			return nil, err
		}
		for _, repo := range page {
			if strings.HasPrefix(repo.Name, prefix) && !seen[repo.Name] {
				seen[repo.Name] = true
				repos = append(repos, repo.Name)
			}
		}
		offset += len(page)
		if len(page) == 0 || offset >= total {
			break
		}
	}
	if len(repos) == 0 {
		return nil, nil
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// Once: a second worker of the execution (a job River rescued
		// while the first still ran, on PostgreSQL in another process)
		// waits here on the execution's row and then finds the tasks.
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM retention_executions WHERE id = ?`+tx.ForUpdate(), r.e.ID).Scan(&id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM retention_tasks WHERE execution_id = ?`, r.e.ID).Scan(&n); err != nil || n > 0 {
			return err
		}
		for _, repo := range repos {
			if _, err := tx.Exec(ctx, `INSERT INTO retention_tasks (execution_id, policy_id, repository, job_id, status)
				VALUES (?, ?, ?, ?, ?)`, r.e.ID, r.e.PolicyID, repo, r.jobID, StatusPending); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.allTasks(ctx, r.e.ID)
}

func (s *Service) allTasks(ctx context.Context, executionID int64) ([]Task, error) {
	rows, err := s.db.Query(ctx, `SELECT `+taskColumns+` FROM retention_tasks t WHERE t.execution_id = ? ORDER BY t.id`, executionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// listArtifacts reads every artifact of a repository, each once, with the
// children of its image indexes and, when the policy selects by label,
// the labels of each (one request for the repository).
func (r *run) listArtifacts(ctx context.Context, repo string) ([]registry.Artifact, []Artifact, error) {
	var raw []registry.Artifact
	seen := map[digest.Digest]bool{}
	for offset := 0; ; {
		page, total, err := r.s.reg.ListArtifacts(ctx, repo, core.Page{Offset: offset, Limit: pageSize})
		if err != nil {
			return nil, nil, err
		}
		for _, a := range page {
			if !seen[a.Digest] {
				seen[a.Digest] = true
				raw = append(raw, a)
			}
		}
		offset += len(page)
		if len(page) == 0 || offset >= total {
			break
		}
	}
	out := make([]Artifact, 0, len(raw))
	for _, a := range raw {
		ra := Artifact{Repository: repo, Digest: a.Digest.String(), PushedAt: a.PushedAt, PulledAt: a.PulledAt,
			Subject: a.Subject.String()}
		if len(a.TagTimes) == len(a.Tags) {
			for _, t := range a.TagTimes {
				ra.Tags = append(ra.Tags, Tag{Name: t.Name, PushedAt: t.PushedAt, PulledAt: t.PulledAt})
			}
		} else {
			for _, t := range a.Tags {
				ra.Tags = append(ra.Tags, Tag{Name: t})
			}
		}
		if isIndex(a.MediaType) {
			children, err := r.s.reg.ArtifactChildren(ctx, a.Digest)
			if err != nil {
				return nil, nil, err
			}
			for _, c := range children {
				ra.Children = append(ra.Children, c.String())
			}
		}
		out = append(out, ra)
	}
	if r.labels && len(raw) > 0 {
		digests := make([]digest.Digest, len(raw))
		for i, a := range raw {
			digests[i] = a.Digest
		}
		names, err := r.s.labels.LabelNames(ctx, r.policy.ProjectID, repo, digests)
		if err != nil {
			// Not wrapped: a label source's "not found" must not read as
			// the repository gone.
			return nil, nil, fmt.Errorf("reading the artifacts' labels: %v", err)
		}
		for i := range out {
			out[i].Labels = names[raw[i].Digest]
		}
	}
	return raw, out, nil
}

func isIndex(mediaType string) bool {
	switch mediaType {
	case "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// outcome is what became of an artifact an evaluation decided on.
type outcome struct {
	word   string // the log's action column
	reason string
	err    error
}

// task runs one task and returns its status; "" when ctx ended it before
// it finished, leaving it to run again (a shutdown) or to be stopped.
func (r *run) task(ctx context.Context, t Task, opts []Option) string {
	s := r.s
	start := s.now().UTC()
	if err := s.setTask(ctx, t.ID, StatusRunning, start, time.Time{}, 0, 0, ""); err != nil {
		if ctx.Err() != nil {
			return ""
		}
		return StatusError
	}
	lg := &taskLog{}
	mode := ""
	if r.e.DryRun {
		mode = " (dry run: nothing is deleted)"
	}
	lg.line(start, fmt.Sprintf("execution %d, policy %d: repository %s%s", r.e.ID, r.e.PolicyID, t.Repository, mode))
	end := func(status string, total, retained int) string {
		now := s.now().UTC()
		lg.line(now, fmt.Sprintf("%s: %d artifacts, %d retained", strings.ToLower(status), total, retained))
		if err := s.setTask(context.WithoutCancel(ctx), t.ID, status, start, now, total, retained, lg.String()); err != nil {
			s.log.WarnContext(ctx, "retention: recording a task", "task", t.ID, "err", err)
		}
		s.stats.task(status)
		return status
	}

	raw, arts, err := r.listArtifacts(ctx, t.Repository)
	switch {
	case errors.Is(err, core.ErrNotFound):
		lg.line(s.now().UTC(), "the repository no longer exists")
		return end(StatusSuccess, 0, 0)
	case err != nil && ctx.Err() != nil:
		return r.interrupted(ctx, lg, end, 0, 0)
	case err != nil:
		lg.line(s.now().UTC(), "listing the artifacts: "+err.Error())
		return end(StatusError, 0, 0)
	}
	now := s.now().UTC()
	res, err := Evaluate(r.policy.Policy, arts, now, opts...)
	if err != nil {
		lg.line(now, "evaluating the policy: "+err.Error())
		return end(StatusError, len(arts), len(arts))
	}

	total, retained := len(res.Decisions), len(res.Decisions)
	outcomes := map[string]outcome{}
	failures := 0
	stopped := false
	actx := core.WithActor(ctx, core.SystemActor("tag retention"))
	del := func(d string, tags []string) outcome {
		if stopped || ctx.Err() != nil {
			stopped = true
			return outcome{word: "SKIPPED", reason: "stopped before it was deleted"}
		}
		if r.e.DryRun {
			return outcome{word: "DELETE", reason: "dry run: would be deleted"}
		}
		err := s.reg.DeleteArtifact(actx, t.Repository, digest.Digest(d))
		switch {
		case err == nil, errors.Is(err, core.ErrNotFound):
			r.record(t.Repository, d, tags)
			return outcome{word: "DELETED"}
		case ctx.Err() != nil:
			stopped = true
			return outcome{word: "SKIPPED", reason: "stopped before it was deleted"}
		default:
			failures++
			s.stats.failure()
			return outcome{word: "FAILED", err: err}
		}
	}
	for _, d := range res.Decisions {
		if d.Action != Delete {
			continue
		}
		o := del(d.Digest, d.Tags)
		outcomes[d.Digest] = o
		if o.word == "DELETED" || (r.e.DryRun && o.word == "DELETE") {
			retained--
		}
		for _, dep := range d.Dependents {
			if o.word != "DELETED" && o.word != "DELETE" {
				outcomes[dep.Digest] = outcome{word: "KEPT", reason: "kept: " + dep.Of + " was not deleted"}
				continue
			}
			outcomes[dep.Digest] = del(dep.Digest, dep.Tags)
		}
	}
	lg.table(res, raw, outcomes)
	if stopped {
		return r.interrupted(ctx, lg, end, total, retained)
	}
	if failures > 0 {
		lg.line(s.now().UTC(), fmt.Sprintf("%d deletions failed", failures))
		return end(StatusError, total, retained)
	}
	return end(StatusSuccess, total, retained)
}

// interrupted ends a task ctx cut short: Stopped when the execution was
// stopped, else nothing recorded (the task runs again).
func (r *run) interrupted(ctx context.Context, lg *taskLog, end func(string, int, int) string, total, retained int) string {
	bg := context.WithoutCancel(ctx)
	cur, err := r.s.execution(bg, r.e.ID)
	if r.s.wasStopped(r.e.ID) || (err == nil && cur.Status == StatusStopped) {
		lg.line(r.s.now().UTC(), "stopped")
		end(StatusStopped, total, retained)
	}
	return ""
}

// record notes an artifact the execution deleted.
func (r *run) record(repo, d string, tags []string) {
	r.nDel++
	r.s.stats.deleted()
	if len(r.deleted) < MaxSummaryDeleted {
		r.deleted = append(r.deleted, DeletedArtifact{Repository: repo, Digest: d, Tags: append([]string(nil), tags...)})
	}
}

func (r *run) summary(ctx context.Context, e Execution) Summary {
	sum := Summary{ExecutionID: e.ID, PolicyID: e.PolicyID, ProjectID: r.policy.ProjectID, ProjectName: r.project,
		Trigger: e.Trigger, Status: e.Status, DryRun: e.DryRun, Rules: r.policy.Rules, Deleted: r.deleted, DeletedCount: r.nDel}
	if err := r.s.db.QueryRow(ctx, `SELECT COALESCE(SUM(total), 0), COALESCE(SUM(retained), 0) FROM retention_tasks
		WHERE execution_id = ?`, e.ID).Scan(&sum.Total, &sum.Retained); err != nil {
		r.s.log.WarnContext(ctx, "retention: summing an execution's tasks", "execution", e.ID, "err", err)
	}
	return sum
}

func (s *Service) setTask(ctx context.Context, id int64, status string, start, end time.Time, total, retained int, log string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE retention_tasks SET status = ?, start_time = ?, end_time = ?, total = ?, retained = ?,
			log = ? WHERE id = ?`, status, nanos(start), nanos(end), total, retained, log, id)
		return err
	})
}

// maxLog bounds a task's stored log; the lines past it are counted.
const maxLog = 1 << 20

// taskLog is a task's log, kept in memory and stored when the task ends.
type taskLog struct {
	b       strings.Builder
	dropped int
}

func (l *taskLog) add(s string) {
	if l.b.Len()+len(s)+1 > maxLog {
		l.dropped++
		return
	}
	l.b.WriteString(s)
	l.b.WriteByte('\n')
}

func (l *taskLog) line(at time.Time, s string) { l.add(at.Format(time.RFC3339) + " " + s) }

func (l *taskLog) String() string {
	if l.dropped > 0 {
		return l.b.String() + "... " + strconv.Itoa(l.dropped) + " more lines not kept\n"
	}
	return l.b.String()
}

// table logs each decision: the artifact, its tags, what became of it,
// its latest push and pull, and why; then the deletions that failed.
func (l *taskLog) table(res Result, raw []registry.Artifact, outcomes map[string]outcome) {
	times := make(map[string]registry.Artifact, len(raw))
	for _, a := range raw {
		times[a.Digest.String()] = a
	}
	when := func(d string) (string, string) {
		a, ok := times[d]
		if !ok {
			return "-", "-"
		}
		pushed, pulled := a.PushedAt, a.PulledAt
		for _, t := range a.TagTimes {
			pushed, pulled = latest(pushed, t.PushedAt), latest(pulled, t.PulledAt)
		}
		p := "never"
		if !pulled.IsZero() {
			p = pulled.UTC().Format(time.RFC3339)
		}
		return pushed.UTC().Format(time.RFC3339), p
	}
	tags := func(ts []string) string {
		if len(ts) == 0 {
			return "<none>"
		}
		return strings.Join(ts, ",")
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIGEST\tTAGS\tACTION\tPUSHED\tPULLED\tREASON")
	var failed []string
	row := func(prefix, d string, ts []string, word, reason string) {
		pushed, pulled := when(d)
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", prefix, d, tags(ts), word, pushed, pulled, reason)
	}
	for _, d := range res.Decisions {
		word, reason := strings.ToUpper(string(d.Action)), d.Reason
		if o, ok := outcomes[d.Digest]; ok {
			word = o.word
			if o.reason != "" {
				reason += "; " + o.reason
			}
			if o.err != nil {
				failed = append(failed, fmt.Sprintf("deleting %s: %v", d.Digest, o.err))
			}
		}
		row("", d.Digest, d.Tags, word, reason)
		for _, dep := range d.Dependents {
			w, why := word, fmt.Sprintf("%s of %s", dep.Relation, dep.Of)
			if o, ok := outcomes[dep.Digest]; ok {
				w = o.word
				if o.reason != "" {
					why += "; " + o.reason
				}
				if o.err != nil {
					failed = append(failed, fmt.Sprintf("deleting %s: %v", dep.Digest, o.err))
				}
			}
			row("  ", dep.Digest, dep.Tags, w, why)
		}
	}
	_ = tw.Flush()
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		l.add(line)
	}
	for _, f := range failed {
		l.add("FAILED " + f)
	}
}
