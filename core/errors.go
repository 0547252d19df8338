package core

import (
	"errors"
	"net/http"
)

// The kinds of errors every berth package returns, wrapped with what was
// looked for or refused (fmt.Errorf("project %q: %w", name,
// core.ErrNotFound)); match them with errors.Is. A package's own sentinel
// that is one of these kinds is made with New, so it matches its kind.
var (
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("already exists")
	ErrInvalid      = errors.New("invalid")
	ErrConflict     = errors.New("conflict")
	ErrDenied       = errors.New("denied")
	ErrPrecondition = errors.New("precondition failed")
	ErrUnavailable  = errors.New("unavailable")
)

// kindError is an error with its own text that matches a kind.
type kindError struct {
	text string
	kind error
}

func (e *kindError) Error() string { return e.text }
func (e *kindError) Unwrap() error { return e.kind }

// New returns an error reading text that matches kind with errors.Is:
// a package's sentinel for one case of a kind (project.ErrNotEmpty is a
// precondition; chart.ErrInvalidChart is invalid).
func New(kind error, text string) error { return &kindError{text: text, kind: kind} }

// StatusError is an answer an HTTP layer gives as is: a status, a code of
// the protocol's vocabulary (the OCI error codes for /v2/), a message for
// people, optional detail and headers (WWW-Authenticate on 401,
// Retry-After on 429).
type StatusError struct {
	Status  int
	Code    string
	Message string
	Detail  any
	Header  http.Header
}

func (e *StatusError) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus is the status that answers err: a StatusError's own, or its
// kind's (404, 409, 400, 409, 403, 412, 503). ok is false for an error of
// no kind: an internal failure, answered 500 without its text.
func HTTPStatus(err error) (status int, ok bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status, true
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.status, true
		}
	}
	return http.StatusInternalServerError, false
}

var kinds = []struct {
	err    error
	status int
}{
	{ErrNotFound, http.StatusNotFound},
	{ErrExists, http.StatusConflict},
	{ErrInvalid, http.StatusBadRequest},
	{ErrConflict, http.StatusConflict},
	{ErrDenied, http.StatusForbidden},
	{ErrPrecondition, http.StatusPreconditionFailed},
	{ErrUnavailable, http.StatusServiceUnavailable},
}
