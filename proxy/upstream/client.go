package upstream

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/internal/pace"
)

// TypeDockerHub is the Endpoint.Type of Docker Hub: hub.docker.com,
// docker.io, index.docker.io and registry-1.docker.io all mean
// https://registry-1.docker.io, and one-component repositories live under
// library/ ("nginx" is library/nginx).
const TypeDockerHub = "docker-hub"

// Endpoint is the upstream registry and how to reach it.
type Endpoint struct {
	URL string // http(s)://host[:port], nothing after the host
	// Type is TypeDockerHub or anything else for an OCI/Distribution
	// registry (Harbor, zot, berth, ghcr, quay, ...).
	Type               string
	Username, Password string // Basic, or the token service's; empty = anonymous
	Insecure           bool   // skip TLS verification; ignored with Transport
	CACert             string // extra PEM roots; ignored with Transport
	// Transport replaces the network (tests, in-process registries); the
	// client's timeouts still apply on top of it.
	Transport http.RoundTripper
}

// Client talks to one upstream registry. It is safe for concurrent use.
type Client struct {
	host        string // host[:port] requests go to; named in every error
	base        string // scheme://host
	reg         name.Registry
	dockerHub   bool
	auth        authn.Authenticator
	rt          http.RoundTripper // below the per-repository auth transports
	closeIdle   func()
	maxManifest int64
	slots       chan struct{} // nil: no limit
	bandwidth   *pace.Limiter // nil: no limit
	// bandwidthChunk is the largest read under a bandwidth limit, so
	// waits stay short and smooth.
	bandwidthChunk int
	repos          *transportCache
}

type config struct {
	timeout       time.Duration
	maxManifest   int64
	maxConcurrent int
	bandwidth     int64
	userAgent     string
}

// Option configures a Client.
type Option func(*config)

// WithTimeout bounds connecting and waiting for response headers, and the
// time a body may stall between reads (default 5 s): short, because the
// cache serves its own copy when the upstream is slow. Whole transfers
// are not bounded; the caller's context is.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMaxManifestSize bounds manifests and referrers pages (default 4 MiB).
func WithMaxManifestSize(n int64) Option { return func(c *config) { c.maxManifest = n } }

// WithMaxConcurrent bounds the calls in flight (a blob counts until its
// reader is closed); over it a call fails at once with an error matching
// core.ErrUnavailable whose RetryAfter is a second. 0 means no limit.
func WithMaxConcurrent(n int) Option { return func(c *config) { c.maxConcurrent = n } }

// WithBandwidth bounds the bytes per second read from blob bodies, shared
// by all of the client's blobs. 0 means no limit.
func WithBandwidth(bytesPerSecond int64) Option {
	return func(c *config) { c.bandwidth = bytesPerSecond }
}

// WithUserAgent sets the User-Agent's product (go-containerregistry's
// version is appended).
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// maxRedirects bounds the hops to blob storage.
const maxRedirects = 5

// New returns a client of the upstream at ep. It does not contact it.
func New(ep Endpoint, opts ...Option) (*Client, error) {
	cfg := config{timeout: 5 * time.Second, maxManifest: 4 << 20, userAgent: "berth-proxy"}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.timeout <= 0:
		return nil, fmt.Errorf("upstream: timeout %v must be positive: %w", cfg.timeout, core.ErrInvalid)
	case cfg.maxManifest <= 0:
		return nil, fmt.Errorf("upstream: manifest size limit %d must be positive: %w", cfg.maxManifest, core.ErrInvalid)
	case cfg.maxConcurrent < 0 || cfg.bandwidth < 0:
		return nil, fmt.Errorf("upstream: negative concurrency or bandwidth limit: %w", core.ErrInvalid)
	}
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstream: URL %q must be http(s)://host[:port]: %w", sanitize(ep.URL, 200), core.ErrInvalid)
	}
	c := &Client{host: u.Host, dockerHub: ep.Type == TypeDockerHub, maxManifest: cfg.maxManifest}
	if c.dockerHub && u.Port() == "" && isDockerHubHost(u.Hostname()) {
		u.Scheme, c.host = "https", "registry-1.docker.io"
	}
	var nameOpts []name.Option
	if u.Scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	if c.reg, err = name.NewRegistry(c.host, nameOpts...); err != nil {
		return nil, fmt.Errorf("upstream: host %q: %w", sanitize(c.host, 200), core.ErrInvalid)
	}
	// The name package spells some hosts its own way (docker.io is
	// index.docker.io); requests must go where the auth transports expect.
	c.host = c.reg.RegistryStr()
	c.base = u.Scheme + "://" + c.host
	base, closeIdle, err := baseTransport(ep, cfg.timeout)
	if err != nil {
		return nil, err
	}
	g := &guard{inner: base, timeout: cfg.timeout}
	if u.Scheme == "https" {
		g.httpsHost = c.host
	}
	c.rt, c.closeIdle = transport.NewUserAgent(g, cfg.userAgent), closeIdle
	c.auth = authn.Anonymous
	if ep.Username != "" || ep.Password != "" {
		c.auth = &authn.Basic{Username: ep.Username, Password: ep.Password}
	}
	if cfg.maxConcurrent > 0 {
		c.slots = make(chan struct{}, cfg.maxConcurrent)
	}
	if cfg.bandwidth > 0 {
		c.bandwidth = pace.New(float64(cfg.bandwidth))
		c.bandwidthChunk = int(min(max(cfg.bandwidth/16, 512), 256<<10))
	}
	// A handshake is a ping and a token request, each bounded by the timeout.
	c.repos = newTransportCache(256, 3*cfg.timeout, c.handshake)
	return c, nil
}

// Close drops the client's idle connections. Calls may still be made.
func (c *Client) Close() { c.closeIdle() }

func isDockerHubHost(h string) bool {
	switch strings.ToLower(h) {
	case "hub.docker.com", "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

// handshake pings the upstream and, for the token flow, fetches a token
// scoped to pulling repo; the transport it returns refreshes it on 401.
func (c *Client) handshake(ctx context.Context, repo string) (http.RoundTripper, error) {
	return transport.NewWithContext(ctx, c.reg, c.auth, c.rt, []string{"repository:" + repo + ":pull"})
}

// acquire takes one of the WithMaxConcurrent slots, or fails at once.
func (c *Client) acquire(what string) (release func(), err error) {
	if c.slots == nil {
		return func() {}, nil
	}
	select {
	case c.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-c.slots }) }, nil
	default:
		e := c.fail(core.ErrUnavailable, what, fmt.Sprintf("%d calls to the upstream are in flight already", cap(c.slots)))
		e.retryAfter, e.cause = time.Second, ErrBusy
		return nil, e
	}
}

// send makes one request of repo's with its authenticated transport. A
// non-2xx answer comes back as an *Error, its body closed; otherwise the
// caller closes the body.
func (c *Client) send(ctx context.Context, repo, what, method, target string, accept ...string) (*http.Response, error) {
	rt, err := c.repos.get(ctx, repo)
	if err != nil {
		return nil, c.wrapCall(ctx, what, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, c.fail(core.ErrInvalid, what, sanitize(err.Error(), 200))
	}
	if len(accept) > 0 {
		req.Header.Set("Accept", strings.Join(accept, ", "))
	}
	client := &http.Client{Transport: rt, CheckRedirect: checkRedirect}
	resp, err := client.Do(req)
	if err != nil {
		return nil, c.wrapCall(ctx, what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := c.statusError(resp, what)
		resp.Body.Close()
		return nil, e
	}
	return resp, nil
}

// checkRedirect follows up to maxRedirects hops and refuses a loop.
// Credentials never follow: the auth transports set Authorization only
// for the upstream's own host (and the token service's).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return localError(core.ErrInvalid, fmt.Sprintf("more than %d redirects", maxRedirects))
	}
	for _, v := range via {
		if v.URL.String() == req.URL.String() {
			return localError(core.ErrInvalid, "redirect loop through "+sanitize(req.URL.Host, 100))
		}
	}
	return nil
}
