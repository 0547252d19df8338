package upstream

import (
	"container/list"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/berthlabs/berth/core"
)

// baseTransport is the network: ep.Transport, or an http.Transport with
// the timeouts, TLS settings and no transparent decompression (a gzipped
// body would lose its Content-Length and could be a bomb).
func baseTransport(ep Endpoint, timeout time.Duration) (http.RoundTripper, func(), error) {
	if ep.Transport != nil {
		closeIdle := func() {}
		if ci, ok := ep.Transport.(interface{ CloseIdleConnections() }); ok {
			closeIdle = ci.CloseIdleConnections
		}
		return ep.Transport, closeIdle, nil
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: ep.Insecure} //nolint:gosec // the operator's choice
	if ep.CACert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(ep.CACert)) {
			return nil, nil, fmt.Errorf("upstream: CACert holds no PEM certificate: %w", core.ErrInvalid)
		}
		tlsConfig.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: timeout,
		// No ResponseHeaderTimeout: guard bounds the headers for every
		// transport, with one message.
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true,
	}
	return t, t.CloseIdleConnections, nil
}

// guard bounds every round trip — the registry's, the token service's,
// blob storage's — whatever the transport: headers must arrive within the
// timeout and a body may not stall longer than it between reads. It also
// refuses plain HTTP to an https upstream, which go-containerregistry's
// ping would otherwise try for hosts that look local.
type guard struct {
	inner     http.RoundTripper
	timeout   time.Duration
	httpsHost string
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.httpsHost != "" && req.URL.Scheme == "http" && req.URL.Host == g.httpsHost {
		// A plain error: in go-containerregistry's ping race the https
		// attempt's failure is the one worth reporting.
		return nil, fmt.Errorf("refusing plain HTTP to https upstream %s", g.httpsHost)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	slow := localError(core.ErrUnavailable, fmt.Sprintf("no response within %v", g.timeout))
	timer := time.AfterFunc(g.timeout, func() { cancel(slow) })
	resp, err := g.inner.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		cause := context.Cause(ctx)
		cancel(nil)
		if cause == slow {
			return nil, slow
		}
		return nil, err
	}
	stalled := localError(core.ErrUnavailable, fmt.Sprintf("the body stalled for more than %v", g.timeout))
	b := &idleBody{body: resp.Body, ctx: ctx, cancel: cancel, timeout: g.timeout, stalled: stalled}
	b.timer = time.AfterFunc(time.Hour, func() { cancel(stalled) })
	b.timer.Stop()
	resp.Body = b
	return resp, nil
}

// idleBody fails a read that waits on the upstream longer than the
// timeout. Only time spent inside the upstream's Read counts: a slow
// consumer (or the bandwidth limit) is not the upstream stalling.
type idleBody struct {
	body    io.ReadCloser
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	timeout time.Duration
	stalled error
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.body.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && context.Cause(b.ctx) == b.stalled {
		err = b.stalled
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}

// transportCache keeps one authenticated transport per repository (its
// token is scoped to the repository), the most recently used first, and
// makes concurrent first calls for a repository share one handshake.
type transportCache struct {
	max       int
	budget    time.Duration // bound of one handshake
	handshake func(ctx context.Context, repo string) (http.RoundTripper, error)
	flight    singleflight.Group

	mu     sync.Mutex
	order  *list.List // of *cached, front = most recent
	byRepo map[string]*list.Element
}

type cached struct {
	repo string
	rt   http.RoundTripper
}

func newTransportCache(max int, budget time.Duration, handshake func(context.Context, string) (http.RoundTripper, error)) *transportCache {
	return &transportCache{max: max, budget: budget, handshake: handshake, order: list.New(), byRepo: map[string]*list.Element{}}
}

// lookup returns repo's transport if one is kept.
func (tc *transportCache) lookup(repo string) (http.RoundTripper, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if el, ok := tc.byRepo[repo]; ok {
		tc.order.MoveToFront(el)
		return el.Value.(*cached).rt, true
	}
	return nil, false
}

func (tc *transportCache) get(ctx context.Context, repo string) (http.RoundTripper, error) {
	if rt, ok := tc.lookup(repo); ok {
		return rt, nil
	}
	// The shared handshake outlives a caller that gives up (others may
	// wait on it) but not its budget.
	ch := tc.flight.DoChan(repo, func() (any, error) {
		// A handshake that ended between the look-up above and this
		// flight's start has left its transport: no second handshake.
		if rt, ok := tc.lookup(repo); ok {
			return rt, nil
		}
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tc.budget)
		defer cancel()
		rt, err := tc.handshake(hctx, repo)
		if err != nil {
			if hctx.Err() != nil && ctx.Err() == nil {
				err = localError(core.ErrUnavailable, fmt.Sprintf("authentication handshake took longer than %v", tc.budget))
			}
			return nil, err
		}
		tc.put(repo, rt)
		return rt, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(http.RoundTripper), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (tc *transportCache) put(repo string, rt http.RoundTripper) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if el, ok := tc.byRepo[repo]; ok {
		el.Value.(*cached).rt = rt
		tc.order.MoveToFront(el)
		return
	}
	tc.byRepo[repo] = tc.order.PushFront(&cached{repo: repo, rt: rt})
	for tc.order.Len() > tc.max {
		last := tc.order.Back()
		tc.order.Remove(last)
		delete(tc.byRepo, last.Value.(*cached).repo)
	}
}
