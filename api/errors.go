package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

// Error codes, as Harbor spells them.
const (
	codeBadRequest       = "BAD_REQUEST"
	codeUnauthorized     = "UNAUTHORIZED"
	codeForbidden        = "FORBIDDEN"
	codeNotFound         = "NOT_FOUND"
	codeConflict         = "CONFLICT"
	codePrecondition     = "PRECONDITION"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codeTooLarge         = "PAYLOAD_TOO_LARGE"
	codeInternal         = "INTERNAL_SERVER_ERROR"
	codeUnavailable      = "SERVICE_UNAVAILABLE"
	codeTooManyRequests  = "TOO_MANY_REQUESTS"
)

// Errors is the body of every error answer: {"errors":[{"code","message"}]}.
type Errors struct {
	Errors []Error `json:"errors"`
}

// Error is one entry of Errors.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// apiError is an answer a handler chose: its message is shown as is.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(msg string) error { return &apiError{http.StatusBadRequest, codeBadRequest, msg} }
func forbidden(msg string) error  { return &apiError{http.StatusForbidden, codeForbidden, msg} }
func notFound(msg string) error   { return &apiError{http.StatusNotFound, codeNotFound, msg} }
func unauthorized(msg string) error {
	return &apiError{http.StatusUnauthorized, codeUnauthorized, msg}
}

// classify turns an error into the answer to give, or nil when it is an
// internal error whose text must not reach the client. Errors of a kind
// (core.ErrNotFound, ...) carry messages written for people: their status
// is the kind's (core.HTTPStatus), their message their text.
func classify(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	var tooBig *http.MaxBytesError
	var se *core.StatusError
	switch {
	case isEmptyBody(err):
		return &apiError{http.StatusBadRequest, codeBadRequest, err.Error()}
	case errors.As(err, &tooBig):
		return &apiError{http.StatusRequestEntityTooLarge, codeTooLarge, "request body larger than the limit of 1 MiB"}
	case errors.Is(err, auth.ErrThrottled):
		return &apiError{http.StatusTooManyRequests, codeTooManyRequests, err.Error()}
	case errors.Is(err, auth.ErrUnavailable):
		return &apiError{http.StatusServiceUnavailable, codeUnavailable, "the identity provider is unavailable; try again later"}
	case errors.As(err, &se):
		return &apiError{se.Status, codeOf(se.Status), se.Message}
	case sqldb.Unavailable(err):
		return &apiError{http.StatusServiceUnavailable, codeUnavailable, "the database or the object store is unavailable; try again shortly"}
	}
	status, ok := core.HTTPStatus(err)
	if !ok {
		return nil
	}
	return &apiError{status, codeOf(status), err.Error()}
}

// codeOf is Harbor's error code for a status.
func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeBadRequest
	case http.StatusUnauthorized:
		return codeUnauthorized
	case http.StatusForbidden:
		return codeForbidden
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusConflict:
		return codeConflict
	case http.StatusPreconditionFailed:
		return codePrecondition
	case http.StatusTooManyRequests:
		return codeTooManyRequests
	case http.StatusServiceUnavailable:
		return codeUnavailable
	}
	return codeInternal
}

// writeError answers with err: as classified, or as an internal error that
// is logged and not shown.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	if e == nil {
		a.cfg.log.ErrorContext(r.Context(), "api: internal error", "method", r.Method, "path", r.URL.Path,
			"request_id", w.Header().Get(headerRequestID), "err", err)
		e = &apiError{http.StatusInternalServerError, codeInternal,
			"internal server error; the server log has the details (request id " + w.Header().Get(headerRequestID) + ")"}
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+a.cfg.realm+`"`)
	}
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(te.Seconds()))
	} else if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, e.Status, Errors{Errors: []Error{{Code: e.Code, Message: e.Message}}})
}

// loginError answers credentials that failed: 401 for wrong, expired or
// disabled ones, saying "disabled" or "expired" (the stores report those
// only for right credentials, so only the account's holder learns it);
// 429 with Retry-After when too many failed recently (classify).
func loginError(err error) error {
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return err
	case errors.Is(err, auth.ErrDisabled):
		return unauthorized("account disabled: ask an administrator to enable it")
	case errors.Is(err, auth.ErrExpired):
		return unauthorized("account expired: ask an administrator to renew it")
	case errors.Is(err, auth.ErrInvalidCredentials):
		return unauthorized("invalid credentials")
	}
	return err
}
