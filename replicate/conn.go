package replicate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// conn is a client of one endpoint: its auth, its transport (with
// Retry-After handling) and, per repository and scope, the token-bearing
// transports go-containerregistry negotiates.
type conn struct {
	ep     *Endpoint
	scheme string
	reg    name.Registry
	auth   authn.Authenticator
	rt     http.RoundTripper
	puller *remote.Puller
	pusher *remote.Pusher

	mu     sync.Mutex
	scoped map[string]*http.Client
}

// dial prepares a client of ep; it does no I/O.
func dial(ep *Endpoint, maxWait time.Duration) (*conn, error) {
	u, err := url.Parse(ep.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: endpoint URL %q", ErrInvalid, ep.URL)
	}
	var nameOpts []name.Option
	if u.Scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(u.Host, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("%w: endpoint host %q: %v", ErrInvalid, u.Host, err)
	}
	base := ep.Transport
	if base == nil {
		if base, err = netTransport(ep); err != nil {
			return nil, err
		}
	}
	rt := &retryAfter{next: base, max: maxWait, tries: 5}
	var auth authn.Authenticator = authn.Anonymous
	if ep.Username != "" || ep.Password != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: ep.Username, Password: ep.Password})
	}
	c := &conn{ep: ep, scheme: u.Scheme, reg: reg, auth: auth, rt: rt, scoped: map[string]*http.Client{}}
	opts := []remote.Option{remote.WithAuth(auth), remote.WithTransport(rt), remote.WithUserAgent("berth-replicate"),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusBadGateway, http.StatusGatewayTimeout)}
	if c.puller, err = remote.NewPuller(opts...); err != nil {
		return nil, err
	}
	if c.pusher, err = remote.NewPusher(opts...); err != nil {
		return nil, err
	}
	return c, nil
}

// netTransport is an HTTP transport with the endpoint's TLS settings.
func netTransport(ep *Endpoint) (http.RoundTripper, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = 2 * time.Minute
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: ep.Insecure} //nolint:gosec // the operator's choice, per endpoint
	if ep.CACert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(ep.CACert)) {
			return nil, fmt.Errorf("%w: ca_cert holds no PEM certificate", ErrInvalid)
		}
		cfg.RootCAs = pool
	}
	t.TLSClientConfig = cfg
	return t, nil
}

// repo names a repository on this endpoint.
func (c *conn) repo(repository string) (name.Repository, error) {
	r, err := name.NewRepository(c.reg.Name()+"/"+repository, c.nameOpts()...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%w: repository %q: %v", ErrInvalid, repository, err)
	}
	return r, nil
}

func (c *conn) nameOpts() []name.Option {
	if c.scheme == "http" {
		return []name.Option{name.Insecure}
	}
	return nil
}

// client returns an HTTP client holding a token for repository (pull, or
// pull and push) and, for mounts, pull on from.
func (c *conn) client(ctx context.Context, repository string, push bool, from string) (*http.Client, error) {
	key := fmt.Sprintf("%s|%t|%s", repository, push, from)
	c.mu.Lock()
	cl, ok := c.scoped[key]
	c.mu.Unlock()
	if ok {
		return cl, nil
	}
	r, err := c.repo(repository)
	if err != nil {
		return nil, err
	}
	scopes := []string{r.Scope(transport.PullScope)}
	if push {
		scopes = []string{r.Scope(transport.PushScope)}
	}
	if from != "" && from != repository {
		f, err := c.repo(from)
		if err != nil {
			return nil, err
		}
		scopes = append(scopes, f.Scope(transport.PullScope))
	}
	t, err := transport.NewWithContext(ctx, c.reg, c.auth, c.rt, scopes)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", c.ep.URL, err)
	}
	cl = &http.Client{Transport: t}
	c.mu.Lock()
	c.scoped[key] = cl
	c.mu.Unlock()
	return cl, nil
}

// url is the absolute URL of path on the endpoint.
func (c *conn) url(path string) string {
	return c.scheme + "://" + c.reg.RegistryStr() + path
}

// retryAfter waits out 429 (and 503 with Retry-After) answers, up to max
// per wait, for requests whose body can be sent again.
type retryAfter struct {
	next  http.RoundTripper
	max   time.Duration
	tries int
}

func (t *retryAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || attempt >= t.tries {
			return resp, err
		}
		wait, ok := waitFor(resp, attempt)
		if !ok || wait > t.max {
			return resp, nil
		}
		replay := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if !replay {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		next := req.Clone(req.Context())
		if req.GetBody != nil {
			if next.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		req = next
	}
}

// waitFor reads how long to wait before retrying resp: its Retry-After
// for 429 and 503, or an exponential default for a 429 without one.
func waitFor(resp *http.Response, attempt int) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After")); ok {
		return d, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return time.Second << min(attempt, 5), true
	}
	return 0, false
}

// parseRetryAfter reads delay-seconds or an HTTP date. Waits longer than
// maxRetryAfter (a hostile or broken server's) are read as maxRetryAfter,
// which is more than any caller waits.
func parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true // too many digits to be meant
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter), true
	}
	return 0, false
}

// maxRetryAfter bounds the waits parseRetryAfter returns.
const maxRetryAfter = 24 * time.Hour

// statusError is an unexpected answer, with how long the server asked us
// to wait, if it did.
type statusError struct {
	op         string
	status     int
	body       string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.op, e.status)
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

// unexpected builds a statusError from resp and closes its body.
func unexpected(op string, resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	e := &statusError{op: op, status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	if d, ok := waitFor(resp, 0); ok {
		e.retryAfter = d
	}
	return e
}

func isStatus(err error, code int) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status == code
	}
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
