package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// Upstream fills a pull-through cache: repositories whose content another
// registry supplies on demand. The registry consults it on pulls from
// outside (never on requests through Transport, which is how an Upstream
// stores what it fetched), after the Authorizer allowed them; the
// PullGate then judges what is served as it judges pushed content.
//
// It is up to the Upstream which repositories it covers: for the others
// the refresh methods return ("", nil) and Blob an error matching
// core.ErrNotFound, and the registry answers as without one.
type Upstream interface {
	// RefreshManifest runs before a manifest (by tag or digest) is looked
	// up: it stores through Transport what the upstream has that the
	// registry lacks or holds in an older version (a moved tag). warning,
	// when not "", is sent with the response (a stale copy served while
	// the upstream is unreachable). An error is answered only when the
	// registry holds no copy to serve; otherwise the copy is served with
	// the error as the warning. A *StatusError is answered as is.
	RefreshManifest(ctx context.Context, repo, ref string) (warning string, err error)
	// Blob opens a blob the repository does not hold, streaming it as it
	// arrives (and storing it meanwhile). size is -1 when unknown. The
	// body ends in an error, never io.EOF, when the bytes are wrong. A
	// HEAD of a missing blob opens it too, and closes it at once: whether
	// the fetch goes on is the Upstream's choice (the proxy package's
	// does, so the GET that follows a HEAD finds it on its way).
	Blob(ctx context.Context, repo string, d digest.Digest) (body io.ReadCloser, size int64, err error)
	// RefreshReferrers runs before the referrers of subject are listed,
	// storing the upstream's referrers. The local list is served whatever
	// it returns; an error becomes the response's warning.
	RefreshReferrers(ctx context.Context, repo string, subject digest.Digest) (warning string, err error)
}

// WithUpstream makes the registry a pull-through cache for the
// repositories u covers.
func WithUpstream(u Upstream) Option { return func(r *Registry) { r.upstream = u } }

// sparseKey marks an in-process request that may store a manifest whose
// blobs or child manifests are absent.
type sparseKey struct{}

// AllowSparse marks a request made through Transport as storing a
// manifest whose blobs and child manifests need not be held: a
// pull-through cache stores an index before its children and an image
// before its layers, and fetches those when they are pulled. Requests from
// outside cannot carry it.
func AllowSparse(ctx context.Context) context.Context {
	return context.WithValue(ctx, sparseKey{}, true)
}

func (rg *Registry) sparseAllowed(ctx context.Context) bool {
	if rg.allowSparse {
		return true
	}
	v, _ := ctx.Value(sparseKey{}).(bool)
	return v && isInternal(ctx)
}

// consultUpstream reports whether a request's misses go to the Upstream.
func (rg *Registry) consultUpstream(r *http.Request) bool {
	return rg.upstream != nil && !isInternal(r.Context())
}

// refreshManifest asks the Upstream before a manifest look-up. It returns
// the warning to send, and the error to answer if nothing local is found.
func (rg *Registry) refreshManifest(r *http.Request, repo, ref string) (warning string, answer error) {
	if !rg.consultUpstream(r) {
		return "", nil
	}
	warning, err := rg.upstream.RefreshManifest(r.Context(), repo, ref)
	if err != nil {
		return upstreamWarning(err), upstreamError(err, CodeManifestUnknown)
	}
	return warning, nil
}

// upstreamError is how an Upstream's failure is answered: a StatusError
// as is, a kind with its status, anything else as an internal error.
func upstreamError(err error, notFoundCode string) error {
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	status, ok := core.HTTPStatus(err)
	if !ok {
		return err
	}
	code := CodeDenied
	switch status {
	case http.StatusNotFound:
		code = notFoundCode
	case http.StatusServiceUnavailable:
		code = "UNAVAILABLE"
	case http.StatusBadRequest:
		code = CodeManifestInvalid
	}
	return newError(status, code, err.Error())
}

// upstreamWarning is an error as the text of a Warning header.
func upstreamWarning(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Message
	}
	return err.Error()
}

// setWarning sends a Warning header (RFC 9111's 110, "response is stale")
// carrying text, made safe for a quoted string.
func setWarning(w http.ResponseWriter, text string) {
	if text == "" {
		return
	}
	text = strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '\''
		}
		return r
	}, text[:min(len(text), 300)])
	w.Header().Set("Warning", `110 berth "`+text+`"`)
}

// blobFromUpstream serves a blob the repository misses from the Upstream.
func (rg *Registry) blobFromUpstream(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest) error {
	body, size, err := rg.upstream.Blob(r.Context(), repo, d)
	if err != nil {
		if errors.Is(err, core.ErrNotFound) && !errors.As(err, new(*Error)) {
			return blobUnknown(repo, d)
		}
		return upstreamError(err, CodeBlobUnknown)
	}
	defer body.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Etag", `"`+d.String()+`"`)
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, body); err != nil {
		// Headers are out: a cut body is the only way to tell the client.
		rg.log.WarnContext(r.Context(), "registry: streaming a blob from the upstream", "repository", repo,
			"digest", d.String(), "err", err)
		panic(http.ErrAbortHandler)
	}
	rg.emit(r, Event{Action: EventPull, Target: TargetBlob, Repository: repo, Digest: d, Size: size})
	return nil
}

// refreshReferrers asks the Upstream before a referrers listing and sends
// its warning or error as a Warning header.
func (rg *Registry) refreshReferrers(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest) {
	if !rg.consultUpstream(r) {
		return
	}
	warning, err := rg.upstream.RefreshReferrers(r.Context(), repo, d)
	if err != nil {
		warning = upstreamWarning(err)
	}
	setWarning(w, warning)
}
