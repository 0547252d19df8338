package registry

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// uploadCaps bound the resumable upload sessions open at once: per owner
// (see uploadOwner), per project and in the whole registry. A session
// counts while it is active: until it completes, is cancelled, or has been
// idle for the idle timeout.
type uploadCaps struct {
	perUser, perProject, global int
}

// WithMaxOpenUploads bounds the resumable upload sessions open at once in
// the whole registry (default DefaultMaxOpenUploads); past it, starting a
// session answers 429 with Retry-After. Per-user and per-project caps
// (WithMaxOpenUploadsPerUser, WithMaxOpenUploadsPerProject) keep one
// caller from taking all of them.
func WithMaxOpenUploads(n int) Option { return func(r *Registry) { r.uploadCaps.global = n } }

// WithMaxOpenUploadsPerUser bounds the sessions one caller holds open
// (default DefaultMaxOpenUploadsPerUser). The caller is the actor the
// Authorizer recorded (WithActor); anonymous callers are counted per client
// address (r.RemoteAddr; an IPv6 address by its /64, which one host
// usually holds whole), so behind a proxy that does not set RemoteAddr
// they share one bucket.
func WithMaxOpenUploadsPerUser(n int) Option { return func(r *Registry) { r.uploadCaps.perUser = n } }

// WithMaxOpenUploadsPerProject bounds the sessions open in one project
// (the repository's first path component), whoever opened them (default
// DefaultMaxOpenUploadsPerProject), so the robots of one project cannot
// add up to the whole registry's cap.
func WithMaxOpenUploadsPerProject(n int) Option {
	return func(r *Registry) { r.uploadCaps.perProject = n }
}

// WithUploadTimeouts sets when a session ends on its own: after idle with
// no chunk received (default DefaultUploadIdleTimeout), and maxAge after
// it started however busy (default DefaultUploadMaxAge). An ended session
// no longer counts against the caps and cannot be resumed; ExpireUploads
// frees its storage. A chunk that streams longer than idle keeps its
// session alive while bytes flow.
func WithUploadTimeouts(idle, maxAge time.Duration) Option {
	return func(r *Registry) { r.uploadIdle, r.uploadMaxAge = idle, maxAge }
}

// uploadOwner names whose quota a session started by r counts against:
// "user:<actor>" for a caller the Authorizer named, else "addr:<client
// address>", so anonymous clients do not share one bucket that any one of
// them could fill.
func uploadOwner(r *http.Request) string {
	if a := ActorFrom(r.Context()); a != "" {
		return "user:" + a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "addr:" + truncate(host)
	}
	if ip = ip.Unmap(); ip.Is6() {
		p, _ := ip.Prefix(64)
		return "addr:" + p.String()
	}
	return "addr:" + ip.String()
}

// capReached is a reservation refused because one cap is full.
type capReached struct {
	which string // "user", "project" or "registry"
	limit int
}

func (c *capReached) Error() string {
	return fmt.Sprintf("upload sessions: the %s cap of %d is reached", c.which, c.limit)
}

// uploadRetryAfter is what a refused start is told to wait: sessions end
// when completed or cancelled, which clients do within moments.
const uploadRetryAfter = 60 * time.Second

// tooManyUploads answers a refused reservation: 429 with Retry-After and
// which cap is full.
func tooManyUploads(c *capReached, owner, project string) error {
	var msg string
	switch c.which {
	case "user":
		who := "you already hold"
		if strings.HasPrefix(owner, "addr:") {
			who = "anonymous callers from your address already hold"
		}
		msg = fmt.Sprintf("%s %d open upload sessions, the per-user limit", who, c.limit)
	case "project":
		msg = fmt.Sprintf("project %q already has %d open upload sessions, the per-project limit", truncate(project), c.limit)
	default:
		msg = fmt.Sprintf("the registry already has %d open upload sessions, its limit", c.limit)
	}
	e := newError(http.StatusTooManyRequests, CodeTooManyRequests, msg+"; finish or cancel some, or retry later")
	e.Detail = map[string]any{"cap": c.which, "limit": c.limit}
	e.Header = http.Header{"Retry-After": {strconv.Itoa(int(uploadRetryAfter / time.Second))}}
	return e
}
