package webhook

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Queue is where deliveries go as durable jobs; *jobs.Runner implements
// it.
type Queue interface {
	Enqueue(ctx context.Context, args jobs.Args, opts ...jobs.EnqueueOption) (int64, error)
}

// Projects resolves a project name to its immutable id; ok is false when
// there is no such project. *project.Store implements it. When it also
// has project.Store's method
//
//	Public(ctx context.Context, name string) (exists, public bool, err error)
//
// the Sink marks repositories of public projects "public" in payloads.
type Projects interface {
	ProjectID(ctx context.Context, name string) (id int64, ok bool, err error)
}

type publicity interface {
	Public(ctx context.Context, name string) (exists, public bool, err error)
}

// ProjectLookup names a project by id and says whether it is public; ok
// is false when there is no such project.
type ProjectLookup func(ctx context.Context, id int64) (name string, public, ok bool, err error)

// Service keeps webhook policies and their delivery log in SQL and
// delivers events to policies' targets as durable jobs. It is safe for
// concurrent use.
type Service struct {
	db          *sqldb.DB
	seal        *seal.Sealer
	secretKey   []byte
	queue       Queue
	projects    Projects
	lookup      ProjectLookup
	log         *slog.Logger
	now         func() time.Time
	host        string
	timeout     time.Duration
	maxAttempts int
	backoff     func(attempt int) time.Duration
	transport   http.RoundTripper // injected; nil: the default pair below
	deny        []netip.Prefix
	client      *http.Client // verifies certificates
	insecure    *http.Client // for targets with SkipCertVerify
	active      activeCache  // whether any policy is enabled (active.go)
}

// Option configures a Service.
type Option func(*Service)

// WithQueue sets the durable job queue (required to deliver: Emit,
// SendTest and Resume fail without it).
func WithQueue(q Queue) Option { return func(s *Service) { s.queue = q } }

// WithProjects sets how the Sink finds the project of a repository
// (required for the Sink).
func WithProjects(p Projects) Option { return func(s *Service) { s.projects = p } }

// WithProjectLookup sets how a project is named from its id: Emit fills
// in ProjectName (and Public) of events that lack it, and SendTest names
// its test repository in the project. Without it, test events name no
// project.
func WithProjectLookup(f ProjectLookup) Option { return func(s *Service) { s.lookup = f } }

// WithSecretKey seals the policies' signing secrets and auth headers at
// rest with AES-256-GCM under key (32 bytes). Without it they are stored
// marked plain; values stored before a key was set still read.
func WithSecretKey(key []byte) Option { return func(s *Service) { s.secretKey = key } }

// WithRegistryHost sets the registry's external host ("reg.example" or
// "reg.example:5000") that payloads' resource_url start with. Without
// it, resource_url is left out.
func WithRegistryHost(host string) Option { return func(s *Service) { s.host = host } }

// WithTimeout bounds one delivery attempt: connecting, sending and
// reading the response headers (default 10s).
func WithTimeout(d time.Duration) Option { return func(s *Service) { s.timeout = d } }

// WithMaxAttempts sets how many times a delivery is tried before it is
// marked failed (default 8).
func WithMaxAttempts(n int) Option { return func(s *Service) { s.maxAttempts = n } }

// WithBackoff sets the wait after failed attempt n (1-based) before the
// next (default: DefaultBackoff). A wait of 0 or less retries at once.
// The job runner starts scheduled jobs within its scheduler's interval
// (River's: 5s), so shorter waits round up to that.
func WithBackoff(f func(attempt int) time.Duration) Option {
	return func(s *Service) { s.backoff = f }
}

// WithTransport sends deliveries through rt instead of the default
// transports (for tests: an httptest server's client's transport). With
// it, targets' SkipCertVerify is rt's business. Redirects are still not
// followed and attempts are still bounded by WithTimeout.
func WithTransport(rt http.RoundTripper) Option { return func(s *Service) { s.transport = rt } }

// WithDenyNetworks refuses deliveries to addresses in prefixes (say the
// cloud metadata range 169.254.0.0/16, or private networks), checked on
// the address actually connected to, after name resolution, so a name
// resolving to a denied address does not get through either (redirects
// are never followed). With a proxy (from the environment) it is the
// proxy's address that is checked. Not applied with WithTransport.
func WithDenyNetworks(prefixes ...netip.Prefix) Option {
	return func(s *Service) { s.deny = append(s.deny, prefixes...) }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the time source.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// DefaultBackoff waits 30s after the first failed attempt and doubles
// the wait after each further one, up to an hour: with the default 8
// attempts a receiver has about an hour to come back.
func DefaultBackoff(attempt int) time.Duration {
	const base, most = 30 * time.Second, time.Hour
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 8 {
		return most
	}
	return min(base<<(attempt-1), most)
}

// NewService applies the package's migrations to db and returns a
// Service.
func NewService(ctx context.Context, db *sqldb.DB, opts ...Option) (*Service, error) {
	if db == nil {
		return nil, errors.New("webhook: a database is required")
	}
	s := &Service{db: db, log: slog.Default(), now: time.Now, timeout: 10 * time.Second,
		maxAttempts: 8, backoff: DefaultBackoff}
	for _, o := range opts {
		o(s)
	}
	if s.timeout <= 0 {
		return nil, fmt.Errorf("webhook: timeout %s: %w", s.timeout, ErrInvalid)
	}
	if s.maxAttempts < 1 {
		return nil, fmt.Errorf("webhook: max attempts %d: %w", s.maxAttempts, ErrInvalid)
	}
	if s.backoff == nil {
		s.backoff = DefaultBackoff
	}
	sl, err := seal.New(s.secretKey)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	s.seal = sl
	if err := db.MigrateDialect(ctx, "webhook", migrations); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	s.client, s.insecure = s.clients()
	return s, nil
}

// clients builds the HTTP clients of deliveries: no redirects followed,
// every attempt bounded by the timeout.
func (s *Service) clients() (*http.Client, *http.Client) {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if s.transport != nil {
		c := &http.Client{Transport: s.transport, Timeout: s.timeout, CheckRedirect: noRedirect}
		return c, c
	}
	var base *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		base = dt.Clone()
	} else {
		base = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	}
	dialer := &net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second, Control: s.checkDial}
	base.DialContext = dialer.DialContext
	base.ResponseHeaderTimeout = s.timeout
	base.MaxResponseHeaderBytes = 64 << 10
	base.MaxIdleConnsPerHost = 4
	base.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	insecure := base.Clone()
	insecure.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} //nolint:gosec // the target asked for it (SkipCertVerify)
	return &http.Client{Transport: base, Timeout: s.timeout, CheckRedirect: noRedirect},
		&http.Client{Transport: insecure, Timeout: s.timeout, CheckRedirect: noRedirect}
}

// checkDial refuses connections to the denied networks.
func (s *Service) checkDial(_, address string, _ syscall.RawConn) error {
	if len(s.deny) == 0 {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range s.deny {
		if p.Contains(ip) {
			return fmt.Errorf("connecting to %s is not allowed", ip)
		}
	}
	return nil
}

// Register adds the delivery worker to ws; call it before the job runner
// starts.
func (s *Service) Register(ws *jobs.Workers) error {
	return jobs.Register(ws, &worker{s: s})
}

func (s *Service) requireQueue() error {
	if s.queue == nil {
		return errors.New("webhook: no job queue configured (WithQueue)")
	}
	return nil
}
