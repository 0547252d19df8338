package scan

import (
	"context"
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// Queue is where the Service puts its durable jobs; *jobs.Runner
// implements it.
type Queue interface {
	Enqueue(ctx context.Context, args jobs.Args, opts ...jobs.EnqueueOption) (int64, error)
	Cancel(ctx context.Context, id int64) (*jobs.Status, error)
}

// Projects reads project settings; *project.Store implements it.
type Projects interface {
	Get(ctx context.Context, name string) (project.Project, error)
}

// Catalog lists what scan-all walks; *registry.Registry implements it.
type Catalog interface {
	ListRepositories(ctx context.Context, prefix string, page core.Page) ([]registry.Repository, int, error)
	ListArtifacts(ctx context.Context, repo string, page core.Page) ([]registry.Artifact, int, error)
}

// SourceFunc tells an adapter scanner where and how to pull an artifact:
// typically the registry's external address and a short-lived credential.
// release, if not nil, is called when the scan is over.
type SourceFunc func(ctx context.Context, reg Registration, a Artifact) (src Source, release func(), err error)

// BuiltinID is the registration ID of the scanner given with WithScanner.
const BuiltinID = "builtin"

// Service is vulnerability scanning for a registry: scanner registrations,
// scan, SBOM and scan-all tasks run as durable jobs, reports, allowlists,
// the pull gate and the scan-on-push event sink. It is safe for concurrent
// use. Build it with NewService, register its workers with Register before
// the job runner starts, and Close it after the server stops.
type Service struct {
	st          *store
	secretKey   []byte
	log         *slog.Logger
	now         func() time.Time
	queue       Queue
	projects    Projects
	catalog     Catalog
	builtin     Scanner
	builtinName string
	sbom        SBOMGenerator
	dial        func(Registration) (Scanner, error)
	source      SourceFunc
	transport   http.RoundTripper // the registry's in-process transport
	host        string
	unscanned   Rule
	failed      Rule
	exempt      func(actor string) bool
	scanTimeout time.Duration
	attempts    int
	cacheTTL    time.Duration
	history     time.Duration

	cache     *evidenceCache
	policies  *allowlistCache
	pushq     chan pushed
	schedMu   sync.Mutex
	sched     scheduler
	closeOnce sync.Once
	closed    chan struct{}
	wg        sync.WaitGroup
}

// Option configures a Service.
type Option func(*Service)

// WithQueue sets the durable job queue (required to scan).
func WithQueue(q Queue) Option { return func(s *Service) { s.queue = q } }

// WithProjects sets where project settings are read (required for the
// gate and scan on push).
func WithProjects(p Projects) Option { return func(s *Service) { s.projects = p } }

// WithCatalog sets what scan-all walks (required for scan-all).
func WithCatalog(c Catalog) Option { return func(s *Service) { s.catalog = c } }

// WithRegistry reads artifacts from rg through its in-process transport
// (past its authorizer and pull gate), as actor: for the built-in scanner,
// SBOM generation and SBOM storage. It also sets the catalog.
func WithRegistry(rg *registry.Registry, actor string) Option {
	return func(s *Service) {
		s.transport = rg.Transport(actor)
		s.catalog = rg
	}
}

// WithTransport sets the in-process transport to the registry directly
// (WithRegistry does it for a *registry.Registry).
func WithTransport(rt http.RoundTripper) Option { return func(s *Service) { s.transport = rt } }

// WithScanner sets the built-in scanner, registered as name with ID
// BuiltinID: the default unless another scanner is made default.
func WithScanner(name string, sc Scanner) Option {
	return func(s *Service) { s.builtin, s.builtinName = sc, name }
}

// WithSBOMGenerator sets what writes SBOMs (none: SBOM tasks fail with
// ErrUnsupported).
func WithSBOMGenerator(g SBOMGenerator) Option { return func(s *Service) { s.sbom = g } }

// WithAdapters sets how a registered adapter becomes a Scanner (typically
// adapter.NewClientFor) and where it pulls from. Without it, registering
// adapters works but scanning with them fails.
func WithAdapters(dial func(Registration) (Scanner, error), source SourceFunc) Option {
	return func(s *Service) { s.dial, s.source = dial, source }
}

// WithRules sets what the gate does with artifacts that were never
// scanned (or are being scanned) and with those whose scan failed
// (default: Allow both, as Harbor).
func WithRules(unscanned, failed Rule) Option {
	return func(s *Service) { s.unscanned, s.failed = unscanned, failed }
}

// WithExempt lets pulls by callers for which f(actor) is true past the gate
// (the principals external scanners pull as).
func WithExempt(f func(actor string) bool) Option { return func(s *Service) { s.exempt = f } }

// WithScanTimeout bounds one scan attempt (default 30 minutes).
func WithScanTimeout(d time.Duration) Option { return func(s *Service) { s.scanTimeout = d } }

// WithAttempts sets how many times a failing scan runs (default 3).
func WithAttempts(n int) Option { return func(s *Service) { s.attempts = n } }

// WithCacheTTL sets how long the gate trusts what it cached of a report
// or allowlist written by another process (default 30s). Writes through
// this Service invalidate at once.
func WithCacheTTL(d time.Duration) Option { return func(s *Service) { s.cacheTTL = d } }

// WithHistory sets how long superseded tasks (with their logs) and
// reports are kept; each scan-all prunes older ones (default 30 days).
// The newest task and report of each artifact are always kept.
func WithHistory(d time.Duration) Option { return func(s *Service) { s.history = d } }

// WithSecretKey encrypts scanner adapters' credentials at rest with
// AES-256-GCM under key (32 bytes). Without it they are stored as they
// are; credentials stored before a key was set still read.
func WithSecretKey(key []byte) Option { return func(s *Service) { s.secretKey = key } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the time source.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// NewService applies the package's migrations to db and returns a Service.
func NewService(ctx context.Context, db *sqldb.DB, opts ...Option) (*Service, error) {
	if db == nil {
		return nil, errors.New("scan: a database is required")
	}
	s := &Service{log: slog.Default(), now: time.Now, scanTimeout: 30 * time.Minute, attempts: 3,
		cacheTTL: 30 * time.Second, history: 30 * 24 * time.Hour, exempt: func(string) bool { return false }, host: "berth.internal",
		closed: make(chan struct{}), pushq: make(chan pushed, 1024)}
	for _, o := range opts {
		o(s)
	}
	st, err := newStore(ctx, db, s.now)
	if err != nil {
		return nil, err
	}
	if st.seal, err = seal.New(s.secretKey); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	s.st = st
	s.cache = newEvidenceCache(s.cacheTTL, s.now)
	s.policies = newAllowlistCache(s.cacheTTL, s.now)
	s.wg.Add(1)
	go s.drainPushes()
	return s, nil
}

// Close stops the schedule and the scan-on-push hand-off. Jobs are the
// runner's: stop it separately.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.schedMu.Lock()
		s.sched.stop()
		s.schedMu.Unlock()
	})
	s.wg.Wait()
	return nil
}

// Register adds the Service's job workers to ws; call it before the job
// runner starts.
func (s *Service) Register(ws *jobs.Workers) error {
	return errors.Join(
		jobs.Register(ws, &scanWorker{s: s}),
		jobs.Register(ws, &sbomWorker{s: s}),
		jobs.Register(ws, &scanAllWorker{s: s}))
}

func (s *Service) requireQueue() error {
	if s.queue == nil {
		return errors.New("scan: no job queue configured (WithQueue)")
	}
	return nil
}

// Allowlist returns the system allowlist (project "") or a project's.
func (s *Service) Allowlist(ctx context.Context, project string) (Allowlist, error) {
	id, err := s.projectID(ctx, project)
	if err != nil {
		return Allowlist{}, err
	}
	return s.st.allowlist(ctx, id)
}

// projectID resolves a project name to the id its settings are keyed by:
// 0 for "" (the system's), ErrNotFound for a project that does not exist.
func (s *Service) projectID(ctx context.Context, name string) (int64, error) {
	if name == "" {
		return 0, nil
	}
	if s.projects == nil {
		return 0, fmt.Errorf("%w: project settings need a project store (WithProjects)", ErrInvalid)
	}
	p, err := s.projects.Get(ctx, name)
	if errors.Is(err, project.ErrNotFound) {
		return 0, fmt.Errorf("scan: project %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	return p.ID, nil
}

// policyKey is the allowlist cache's key for a project id.
func policyKey(projectID int64) string { return strconv.FormatInt(projectID, 10) }

// SetAllowlist replaces the system allowlist (project "") or a project's.
func (s *Service) SetAllowlist(ctx context.Context, project string, a Allowlist) (Allowlist, error) {
	a, err := a.Normalized()
	if err != nil {
		return a, err
	}
	id, err := s.projectID(ctx, project)
	if err != nil {
		return a, err
	}
	a.UpdatedAt = s.now().UTC()
	if err := s.st.putAllowlist(ctx, id, a); err != nil {
		return a, err
	}
	s.policies.invalidate(policyKey(id))
	return a, nil
}

// Report returns the newest report for an artifact digest, from any
// scanner, with its description; ErrNotFound when it was never scanned.
func (s *Service) Report(ctx context.Context, digest string) (*Report, ReportInfo, error) {
	return s.st.latestReport(ctx, digest)
}

// ReportInfo describes the newest report for digest, if any.
func (s *Service) ReportInfo(ctx context.Context, digest string) (ReportInfo, bool, error) {
	return s.st.latestInfo(ctx, digest)
}

// Task returns a task by ID.
func (s *Service) Task(ctx context.Context, id int64) (Task, error) { return s.st.task(ctx, id) }

// TaskLog returns a task's log lines.
func (s *Service) TaskLog(ctx context.Context, id int64) (string, error) {
	return s.st.taskLog(ctx, id)
}

// LatestTask returns the newest task of kind for an artifact digest
// (digest "" for scan-all tasks).
func (s *Service) LatestTask(ctx context.Context, digest string, kind TaskKind) (Task, bool, error) {
	return s.st.latestTask(ctx, digest, kind)
}

// Prune deletes superseded tasks and reports older than the history
// (WithHistory); scan-all runs it.
func (s *Service) Prune(ctx context.Context) (tasks, reports int64, err error) {
	return s.st.prune(ctx, s.now().Add(-s.history))
}
