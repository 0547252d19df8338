package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthlabs/berth/core"
)

// ErrBusy is the cause of a call WithMaxConcurrent refused, because the
// client's own limit was reached (not the upstream's): errors.Is matches
// it, and the error's RetryAfter is a second.
var ErrBusy = errors.New("the client's limit of calls in flight is reached")

// Error is a failure of an upstream call: its text names the upstream,
// the object and what went wrong; errors.Is matches its core kind
// (ErrNotFound, ErrUnavailable, ErrDenied, ErrInvalid).
type Error struct {
	msg        string
	kind       error
	status     int           // the upstream's HTTP status, 0 when none
	retryAfter time.Duration // the upstream's (or our) hint, 0 when none
	cause      error         // e.g. context.DeadlineExceeded
	bare       bool          // made below the HTTP client: wrapCall names the call
}

func (e *Error) Error() string { return e.msg }

// Unwrap gives the kind and the cause, so both match with errors.Is.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// RetryAfter is how long the upstream (or the client's concurrency limit)
// asks callers to wait before trying again: a 429's or 503's Retry-After,
// or a second when WithMaxConcurrent refused the call. ok is false when
// err carries no hint.
func RetryAfter(err error) (d time.Duration, ok bool) {
	var e *Error
	if errors.As(err, &e) && e.retryAfter > 0 {
		return e.retryAfter, true
	}
	return 0, false
}

// fail makes an Error reading "upstream <host>: <what>: <kind>: <detail>".
func (c *Client) fail(kind error, what, detail string) *Error {
	msg := fmt.Sprintf("upstream %s: %s: %v", c.host, what, kind)
	if detail != "" {
		msg += ": " + detail
	}
	return &Error{msg: msg, kind: kind}
}

// localError is an Error made below the HTTP client (timeouts, redirect
// refusals), before the call's name is known; wrapCall prefixes it.
func localError(kind error, detail string) *Error {
	return &Error{msg: fmt.Sprintf("%v: %s", kind, detail), kind: kind, bare: true}
}

// wrapCall turns any failure of sending a request (the handshake, the
// round trip, reading a body) into an Error of the right kind.
func (c *Client) wrapCall(ctx context.Context, what string, err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		if !e.bare {
			return e
		}
		out := *e
		out.msg, out.bare = fmt.Sprintf("upstream %s: %s: %s", c.host, what, e.msg), false
		return &out
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up: not the upstream's fault, so no kind.
		return fmt.Errorf("upstream %s: %s: %w", c.host, what, context.Cause(ctx))
	case ctx.Err() != nil:
		e := c.fail(core.ErrUnavailable, what, "the caller's deadline passed")
		e.cause = ctx.Err()
		return e
	}
	var te *transport.Error
	if errors.As(err, &te) {
		// The handshake (ping or token service) refused: credentials or
		// access are wrong (401/403), or the upstream cannot answer now.
		kind := core.ErrUnavailable
		if te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden {
			kind = core.ErrDenied
		}
		detail := fmt.Sprintf("authentication handshake answered %d", te.StatusCode)
		if len(te.Errors) > 0 {
			detail += " " + sanitize(string(te.Errors[0].Code)+" "+te.Errors[0].Message, 120)
		}
		e := c.fail(kind, what, detail)
		e.status = te.StatusCode
		return e
	}
	return c.fail(core.ErrUnavailable, what, sanitize(redactURLs(err), 300))
}

// redactURLs prints err without the query strings of the URLs it names:
// a redirect to blob storage carries signed credentials there.
func redactURLs(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error()
	}
	target := "a URL"
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.User = "", nil
		target = u.String()
	}
	return fmt.Sprintf("%s %s: %s", ue.Op, target, redactURLs(ue.Err))
}

// statusError classifies a non-2xx answer. It reads at most 4 KiB of the
// body for the registry's error code and echoes only a sanitized snippet.
func (c *Client) statusError(resp *http.Response, what string) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var oci struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	detail := strconv.Itoa(resp.StatusCode)
	code := ""
	if json.Unmarshal(body, &oci) == nil && len(oci.Errors) > 0 {
		code = oci.Errors[0].Code
		detail += " " + sanitize(code+" "+oci.Errors[0].Message, 120)
	} else if s := sanitize(string(body), 80); s != "" {
		detail += " " + s
	}
	e := c.fail(statusKind(resp.StatusCode, code), what, detail)
	e.status = resp.StatusCode
	if e.kind == core.ErrUnavailable {
		if e.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); e.retryAfter > 0 {
			e.msg += fmt.Sprintf(" (retry after %v)", e.retryAfter)
		}
	}
	return e
}

// statusKind maps a status and the registry's error code to a kind.
func statusKind(status int, code string) error {
	switch {
	case status == http.StatusTooManyRequests || status >= 500 || status == http.StatusRequestTimeout:
		return core.ErrUnavailable
	case code == "MANIFEST_UNKNOWN" || code == "BLOB_UNKNOWN" || code == "NAME_UNKNOWN":
		return core.ErrNotFound
	case code == "TOOMANYREQUESTS":
		return core.ErrUnavailable
	case status == http.StatusNotFound || status == http.StatusGone:
		return core.ErrNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return core.ErrDenied
	case status == http.StatusBadRequest || status == http.StatusMethodNotAllowed ||
		status == http.StatusNotAcceptable || status == http.StatusUnprocessableEntity:
		return core.ErrInvalid
	}
	// Anything else (a stray 3xx, 409, 416 ...) is a registry that is not
	// answering as one should: the cache keeps serving what it has.
	return core.ErrUnavailable
}

// parseRetryAfter reads delta-seconds or an HTTP date, capped at an hour.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		d = time.Duration(min(n, 3600)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return min(max(d, 0), time.Hour)
}

// sanitize keeps at most n printable ASCII characters of an upstream's
// text, so a hostile upstream cannot flood or forge log lines.
func sanitize(s string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if b.Len() >= n {
			b.WriteString("...")
			break
		}
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			space = b.Len() > 0
			continue
		case r < 0x20 || r > 0x7e:
			r = '?'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
