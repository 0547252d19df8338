package session

import (
	"encoding/json"
	"net/http"
)

// Error codes, as Harbor spells them.
const (
	codeBadRequest      = "BAD_REQUEST"
	codeUnauthorized    = "UNAUTHORIZED"
	codeForbidden       = "FORBIDDEN"
	codeTooLarge        = "PAYLOAD_TOO_LARGE"
	codeUnsupported     = "UNSUPPORTED_MEDIA_TYPE"
	codeTooManyRequests = "TOO_MANY_REQUESTS"
	codeUnavailable     = "SERVICE_UNAVAILABLE"
	codeInternal        = "INTERNAL_SERVER_ERROR"
)

// errorBody is Harbor's error answer: {"errors":[{"code","message"}]}.
type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Errors: []errorEntry{{Code: code, Message: msg}}})
}
