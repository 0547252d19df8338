package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/berthlabs/berth/registry"
)

// Resolver finds what a reference names in the registry, as the pull gate
// would be asked about it; *registry.Registry implements it (Resolve).
type Resolver interface {
	Resolve(ctx context.Context, repository, reference string) (registry.Target, error)
}

// Actor is who the pull gates are told is asking. It is no system actor
// (registry.SystemActor), whom components may exempt, and no account, so
// no gate exempts it as a pusher or a scanner: the gates decide exactly
// as for a node that only pulls. It is in parentheses so that it is never
// mistaken for an account.
const Actor = "(kubernetes admission review)"

// Reviewer decides admission reviews: images of this registry by its
// pull gates, other images by Rules. Serve Validate and Mutate.
type Reviewer struct {
	resolver  Resolver
	gate      registry.PullGate
	hosts     map[string]bool
	rules     Rules
	pin       bool
	log       *slog.Logger
	ttl       time.Duration
	maxCached int
	now       func() time.Time
	digests   *cache[string] // "repo:tag" → digest
	decisions *cache[string] // "repo@digest" → "" or the reason it is refused
}

// Option configures a Reviewer.
type Option func(*Reviewer)

// WithRules sets how images of other registries are decided (default:
// all allowed).
func WithRules(r Rules) Option { return func(rv *Reviewer) { rv.rules = r } }

// WithPinning makes the Mutate handler rewrite images of this registry
// named by tag to repo:tag@digest, the digest that was judged; without it
// Mutate decides like Validate and patches nothing.
func WithPinning() Option { return func(rv *Reviewer) { rv.pin = true } }

// WithCacheTTL sets how long a tag's digest and a digest's decision are
// reused (default 30s; 0 asks every time). A newly signed or scanned
// image may stay refused, and a tag moved may stay on its old digest, for
// this long.
func WithCacheTTL(d time.Duration) Option { return func(rv *Reviewer) { rv.ttl = d } }

// WithCacheSize bounds how many digests and decisions are kept, each
// (default 10,000).
func WithCacheSize(n int) Option { return func(rv *Reviewer) { rv.maxCached = n } }

// WithLogger sets where refusals and failures are logged.
func WithLogger(l *slog.Logger) Option { return func(rv *Reviewer) { rv.log = l } }

// WithClock sets the clock the cache expires by.
func WithClock(now func() time.Time) Option { return func(rv *Reviewer) { rv.now = now } }

// New returns a Reviewer for the registry reached as hosts (host[:port],
// as image references name it), resolving references with r and deciding
// with gate.
func New(r Resolver, gate registry.PullGate, hosts []string, opts ...Option) (*Reviewer, error) {
	rv := &Reviewer{resolver: r, gate: gate, hosts: map[string]bool{}, log: slog.Default(), ttl: 30 * time.Second, maxCached: 10_000, now: time.Now}
	for _, o := range opts {
		o(rv)
	}
	if len(hosts) == 0 {
		return nil, errors.New("admission: no host names this registry")
	}
	for _, h := range hosts {
		if h == "" || strings.ContainsAny(h, "/ ") {
			return nil, fmt.Errorf("admission: %q is not a host[:port]", h)
		}
		rv.hosts[strings.ToLower(h)] = true
	}
	if err := rv.rules.validate(); err != nil {
		return nil, err
	}
	rv.digests = newCache[string](rv.ttl, rv.maxCached, rv.now)
	rv.decisions = newCache[string](rv.ttl, rv.maxCached, rv.now)
	return rv, nil
}
