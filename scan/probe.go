package scan

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/berthlabs/berth/internal/origin"
	"github.com/berthlabs/berth/internal/probe"
)

// ProbeError is why a scanner adapter failed a connection test
// (PingScanner, ScannerMetadata), worded to be shown to whoever asked: the
// status the adapter answered or the kind of network failure, never bytes
// it sent (its URL is any address an administrator typed; echoing its
// answers would make the test a reader of the server's network). Err, the
// full cause, is for the server's log. Adapter errors that carry an HTTP
// status implement probe.StatusCoder: HTTPStatus() int.
type ProbeError struct {
	Scanner string // the registration's name
	URL     string
	Status  int    // the HTTP status answered; 0 when there was none
	Reason  string // short and fixed, e.g. "connection refused"
	Err     error
}

func (e *ProbeError) Error() string {
	return "scanner " + strconv.Quote(e.Scanner) + " at " + e.URL + ": " + e.Reason
}

func (e *ProbeError) Unwrap() error { return e.Err }

// probeMetadata asks sc, the scanner of r, for its metadata; an adapter's failure
// is a *ProbeError.
func probeMetadata(ctx context.Context, sc Scanner, r Registration) (Metadata, error) {
	md, err := sc.Metadata(ctx)
	if err == nil || r.Builtin || r.ID == BuiltinID {
		return md, err
	}
	e := &ProbeError{Scanner: r.Name, URL: r.URL, Reason: probe.Reason(err), Err: err}
	var status probe.StatusCoder
	if errors.As(err, &status) {
		e.Status = status.HTTPStatus()
	}
	return md, e
}

// keepCredential gives r, an update of old, the stored credential when r
// leaves it empty under the same auth scheme: but not when r moves the
// adapter to another origin (scheme, host or port), where the next call
// would carry it.
func keepCredential(old Registration, r *Registration) error {
	if r.Credential != "" || r.Auth != old.Auth {
		return nil
	}
	if old.Credential != "" && !origin.Same(old.URL, r.URL) {
		return fmt.Errorf("%w: scanner %q moves from %s to %s; give its access_credential again (or set auth to none): "+
			"the stored one is not sent to another address", ErrInvalid, old.Name, old.URL, r.URL)
	}
	r.Credential = old.Credential
	return nil
}
