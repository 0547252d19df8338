package oidc

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
)

// fail answers err: 401 for refused credentials, 409 for a taken name,
// 400 for an invalid one, 503 when the provider cannot be reached, 500
// otherwise (logged, not shown).
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrDisabled):
		s.log.InfoContext(r.Context(), "oidc: login refused", "err", err)
		s.answer(w, r, http.StatusUnauthorized, "UNAUTHORIZED", "the OIDC login was refused: "+clip(err.Error()))
	case errors.Is(err, auth.ErrExists):
		s.answer(w, r, http.StatusConflict, "CONFLICT", clip(err.Error()))
	case errors.Is(err, auth.ErrInvalid):
		s.answer(w, r, http.StatusBadRequest, "BAD_REQUEST", clip(err.Error()))
	case errors.Is(err, core.ErrUnavailable):
		s.log.WarnContext(r.Context(), "oidc: provider unavailable", "err", err)
		s.answer(w, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "the OIDC provider cannot be reached")
	default:
		s.log.ErrorContext(r.Context(), "oidc", "err", err)
		s.answer(w, r, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "internal error")
	}
}

// answer writes Harbor's error shape.
func (s *Service) answer(w http.ResponseWriter, _ *http.Request, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// clip bounds text that comes from outside before it is echoed.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
