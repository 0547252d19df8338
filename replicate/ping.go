package replicate

import (
	"context"
	"errors"

	"io"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthlabs/berth/internal/probe"
)

// PingError is why an endpoint failed its health check, worded to be
// shown to whoever asked: the status the endpoint answered or the kind of
// network failure, never bytes it sent (an endpoint URL is any address an
// administrator typed; echoing its answers would make the ping a reader of
// the server's network). Err, the full cause, is for the server's log.
type PingError struct {
	URL    string
	Status int    // the HTTP status answered; 0 when there was no answer
	Reason string // short and fixed, e.g. "connection refused"
	Err    error
}

func (e *PingError) Error() string { return e.URL + ": " + e.Reason }

func (e *PingError) Unwrap() error { return e.Err }

// Ping checks that ep answers the distribution API's version check with
// the credentials it holds: a health check. Failures of the endpoint are
// *PingError; ErrInvalid when ep cannot be dialled at all.
func Ping(ctx context.Context, ep *Endpoint) error {
	c, err := dial(ep, 5*time.Second)
	if err != nil {
		return err
	}
	// The token handshake pings /v2/ too and keeps the body of a bad answer
	// in its error: pingFailure drops it.
	t, err := transport.NewWithContext(ctx, c.reg, c.auth, c.rt, nil)
	if err != nil {
		return pingFailure(ep, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/v2/"), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return pingFailure(ep, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return pingFailure(ep, &statusError{op: "GET /v2/", status: resp.StatusCode})
	}
	return nil
}

// pingFailure words err for a PingError.
func pingFailure(ep *Endpoint, err error) *PingError {
	e := &PingError{URL: ep.URL, Err: err}
	var te *transport.Error
	var se *statusError
	switch {
	case errors.As(err, &te):
		e.Status = te.StatusCode
	case errors.As(err, &se):
		e.Status = se.status
	}
	if e.Status == 0 {
		e.Reason = probe.Reason(err)
		return e
	}
	e.Reason = probe.Status(e.Status)
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		e.Reason += ": the credentials were refused"
	}
	return e
}
