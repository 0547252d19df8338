package registry

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// Error codes of the OCI distribution specification.
const (
	CodeBlobUnknown         = "BLOB_UNKNOWN"
	CodeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	CodeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	CodeDigestInvalid       = "DIGEST_INVALID"
	CodeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	CodeManifestInvalid     = "MANIFEST_INVALID"
	CodeManifestUnknown     = "MANIFEST_UNKNOWN"
	CodeNameInvalid         = "NAME_INVALID"
	CodeNameUnknown         = "NAME_UNKNOWN"
	CodeSizeInvalid         = "SIZE_INVALID"
	CodeUnauthorized        = "UNAUTHORIZED"
	CodeDenied              = "DENIED"
	CodeUnsupported         = "UNSUPPORTED"
	CodeTooManyRequests     = "TOOMANYREQUESTS"
	// CodeUnavailable is Distribution's code for a registry that cannot
	// serve now (503).
	CodeUnavailable = "UNAVAILABLE"
	// CodePaginationInvalid is Distribution's code for a bad n parameter.
	CodePaginationInvalid = "PAGINATION_NUMBER_INVALID"
	codeInternal          = "INTERNAL_ERROR"
)

// Error is an error the registry answers with: an HTTP status and one entry
// of the spec's error body (core.StatusError). Hooks may return it (or wrap
// it) to choose the status, code and message a client sees.
type Error = core.StatusError

// retryAfterUnavailable is the Retry-After of a 503 for unavailable
// storage, in seconds: long enough for a database failover to finish.
const retryAfterUnavailable = "5"

func newError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// Denied builds the error a pull or push gate returns to refuse a manifest:
// 412 Precondition Failed with a readable reason, as Harbor does.
func Denied(reason string) *Error {
	return &Error{Status: http.StatusPreconditionFailed, Code: CodeDenied, Message: reason}
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError answers with err. Anything that is not an *Error is an internal
// failure: logged, and answered 500 without leaking details.
func (rg *Registry) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case sqldb.Unavailable(err):
		// The database or the object store is down or overloaded: the
		// client should come back, and nothing was half-done (writes are
		// transactions; blobs become visible only once verified).
		rg.log.WarnContext(r.Context(), "storage unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		e = newError(http.StatusServiceUnavailable, CodeUnavailable, "the registry's storage is unavailable; try again shortly")
		w.Header().Set("Retry-After", retryAfterUnavailable)
	default:
		rg.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = newError(http.StatusInternalServerError, codeInternal, "internal server error")
	}
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.Code, Message: e.Message, Detail: e.Detail}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
