package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/berthlabs/berth/proxy/fanout"
	"github.com/berthlabs/berth/proxy/upstream"
)

// Source is the upstream a proxy project caches and its limits.
type Source struct {
	// Key identifies this configuration: a client of the upstream is made
	// once per Key and re-made when it changes (after an edit of the
	// endpoint or the limits). Use the project's id and a version.
	Key      string
	Endpoint upstream.Endpoint
	// MaxConcurrent bounds the project's calls to the upstream in flight;
	// over it a pull that needs the upstream is answered 429 with
	// Retry-After. 0: DefaultMaxConcurrent.
	MaxConcurrent int
	// BytesPerSecond bounds the project's blob downloads; 0: no limit.
	BytesPerSecond int64
}

// Sources tells which projects are proxy caches.
type Sources interface {
	// Source returns the upstream of project, or ok false when the
	// project is not a proxy cache (or does not exist).
	Source(ctx context.Context, project string) (src Source, ok bool, err error)
}

// DefaultMaxConcurrent bounds a project's upstream calls in flight when its
// Source names no limit.
const DefaultMaxConcurrent = 64

// Cache is the registry.Upstream of proxy projects. It is safe for
// concurrent use.
type Cache struct {
	sources      Sources
	local        *http.Client // the registry itself, in process
	fills        *fanout.Group
	log          *slog.Logger
	timeout      time.Duration
	serveDeleted bool
	maxReferrers int
	now          func() time.Time

	manifests singleflight.Group // coalesces refreshes of one repo@ref
	mu        sync.Mutex
	clients   map[string]*upstream.Client // by Source.Key
	stats     stats
}

// Option configures a Cache.
type Option func(*Cache)

// WithTimeout bounds each call to an upstream's connection, headers and
// stalls (default 5 s): past it a cached copy is served, marked stale.
func WithTimeout(d time.Duration) Option { return func(c *Cache) { c.timeout = d } }

// WithServeDeletedTags chooses what a pull of a cached tag gets when the
// upstream answers that the tag (or repository) no longer exists: the
// cached copy, marked stale (true, the default: deleting upstream must not
// break running clusters), or 404 with the local tag removed (false).
func WithServeDeletedTags(serve bool) Option { return func(c *Cache) { c.serveDeleted = serve } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Cache) { c.log = l } }

// WithMaxReferrers bounds the referrers of one subject fetched on a
// referrers request (default 100).
func WithMaxReferrers(n int) Option { return func(c *Cache) { c.maxReferrers = n } }

// New returns a Cache of the projects sources names. local is the
// registry's in-process Transport (registry.Registry.Transport with a
// system actor), through which fetched content is stored; fills coalesces
// and spools blob downloads.
func New(sources Sources, local http.RoundTripper, fills *fanout.Group, opts ...Option) (*Cache, error) {
	if sources == nil || local == nil || fills == nil {
		return nil, errors.New("proxy: sources, a local transport and a fanout group are required")
	}
	c := &Cache{
		sources: sources, local: &http.Client{Transport: local}, fills: fills,
		log: slog.Default(), timeout: 5 * time.Second, serveDeleted: true, maxReferrers: 100,
		now: time.Now, clients: map[string]*upstream.Client{},
	}
	for _, o := range opts {
		o(c)
	}
	if c.timeout <= 0 || c.maxReferrers <= 0 {
		return nil, fmt.Errorf("proxy: timeout %v and referrer bound %d must be positive", c.timeout, c.maxReferrers)
	}
	return c, nil
}

// maxClients bounds the cached upstream clients; past it the cache starts
// over (clients are cheap to make, and calls in flight keep theirs).
const maxClients = 1024

// target is one repository of a proxy project and its upstream.
type target struct {
	repo     string // the local name, project/...
	upRepo   string // the name at the upstream
	project  string
	client   *upstream.Client
	upstream string // the upstream's URL, for messages
}

// resolve returns repo's target, or ok false when repo is in no proxy
// project.
func (c *Cache) resolve(ctx context.Context, repo string) (target, bool, error) {
	project, rest, found := strings.Cut(repo, "/")
	if !found || rest == "" {
		return target{}, false, nil
	}
	src, ok, err := c.sources.Source(ctx, project)
	if err != nil || !ok {
		return target{}, false, err
	}
	cl, err := c.client(src)
	if err != nil {
		return target{}, false, err
	}
	return target{repo: repo, upRepo: rest, project: project, client: cl, upstream: src.Endpoint.URL}, true, nil
}

func (c *Cache) client(src Source) (*upstream.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[src.Key]; ok {
		return cl, nil
	}
	limit := src.MaxConcurrent
	if limit <= 0 {
		limit = DefaultMaxConcurrent
	}
	cl, err := upstream.New(src.Endpoint, upstream.WithTimeout(c.timeout), upstream.WithMaxConcurrent(limit),
		upstream.WithBandwidth(src.BytesPerSecond))
	if err != nil {
		return nil, fmt.Errorf("proxy: upstream of %s: %w", src.Key, err)
	}
	if len(c.clients) >= maxClients {
		for k, old := range c.clients {
			old.Close()
			delete(c.clients, k)
		}
	}
	c.clients[src.Key] = cl
	return cl, nil
}
