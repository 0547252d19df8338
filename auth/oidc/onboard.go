package oidc

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// OnboardRequest is the body of POST /c/oidc/onboard.
type OnboardRequest struct {
	Username string `json:"username"`
}

// onboard creates the user that the callback sent to onboarding, under
// the name it chose.
func (s *Service) onboard(w http.ResponseWriter, r *http.Request) {
	var p pending
	if !s.readCookie(r, onboardCookie, &p, func() time.Time { return p.Expires }) {
		s.answer(w, r, http.StatusBadRequest, "BAD_REQUEST", "no onboarding in progress, or it expired: log in again at "+LoginPath)
		return
	}
	if mt := r.Header.Get("Content-Type"); !strings.HasPrefix(mt, "application/json") {
		s.answer(w, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the chosen name as application/json: {\"username\":\"...\"}")
		return
	}
	var req OnboardRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		s.answer(w, r, http.StatusBadRequest, "BAD_REQUEST", "malformed JSON body: "+clip(err.Error()))
		return
	}
	name, err := s.create(r.Context(), &p.Identity, req.Username)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearCookie(w, onboardCookie, onboardCookiePath)
	if err := s.sessions.Start(w, r, name); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
