package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
)

// Handler serves LoginPath, CallbackPath, OnboardPath and LogoutPath;
// mount it on the server's mux for "/c/oidc/".
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, s.login)
	mux.HandleFunc("GET "+CallbackPath, s.callback)
	mux.HandleFunc("POST "+OnboardPath, s.onboard)
	mux.HandleFunc("GET "+LogoutPath, s.logoutHandler)
	return mux
}

// login sends the browser to the provider: authorization code with PKCE
// (S256), a fresh state and nonce, kept in a sealed cookie.
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	d, err := s.provider(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := flowState{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		Redirect: localRedirect(r.URL.Query().Get("redirect_url")), Expires: s.now().Add(flowLifetime)}
	if err := s.setCookie(w, flowCookie, "/c/oidc/", st); err != nil {
		s.fail(w, r, err)
		return
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier), oauth2.SetAuthURLParam("nonce", st.Nonce)}
	for k, v := range s.cfg.ExtraAuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	if hasScope(s.cfg.Scopes, "offline_access") {
		opts = append(opts, oauth2.AccessTypeOffline)
	}
	http.Redirect(w, r, d.oauth.AuthCodeURL(st.State, opts...), http.StatusFound)
}

func hasScope(scopes []string, want string) bool {
	for _, s := range scopes {
		if s == want {
			return true
		}
	}
	return false
}

// callback finishes a login: the state must match the cookie's, the code
// is exchanged with the PKCE verifier, the ID token verified (issuer,
// audience, expiry, nonce). A known user, or a new one with a usable
// name when auto-onboarding is on, gets a session; others go to
// onboarding.
func (s *Service) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var st flowState
	ok := s.readCookie(r, flowCookie, &st, func() time.Time { return st.Expires })
	s.clearCookie(w, flowCookie, "/c/oidc/")
	switch {
	case !ok:
		s.answer(w, r, http.StatusBadRequest, "BAD_REQUEST", "no login in progress, or it expired: start again at "+LoginPath)
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1:
		s.answer(w, r, http.StatusBadRequest, "BAD_REQUEST", "the state does not match the login's: start again at "+LoginPath)
		return
	case q.Get("error") != "":
		s.answer(w, r, http.StatusUnauthorized, "UNAUTHORIZED", "the provider refused the login: "+clip(q.Get("error")+": "+q.Get("error_description")))
		return
	case q.Get("code") == "":
		s.answer(w, r, http.StatusBadRequest, "BAD_REQUEST", "the provider sent no code")
		return
	}
	d, err := s.provider(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := s.ctx(r.Context())
	tok, err := d.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: exchanging the code: %v", auth.ErrInvalidCredentials, err))
		return
	}
	id, err := s.identityFrom(ctx, d, tok, st.Nonce, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, err := s.known(ctx, id)
	if err == nil && name == "" && s.cfg.AutoOnboard {
		name, err = s.create(ctx, id, id.Username)
		if errors.Is(err, auth.ErrExists) || errors.Is(err, auth.ErrInvalid) {
			name, err = "", nil // onboarding picks another name
		}
	}
	switch {
	case err != nil:
		s.fail(w, r, err)
	case name == "":
		p := pending{Identity: *id, Redirect: st.Redirect, Expires: s.now().Add(flowLifetime)}
		if err := s.setCookie(w, onboardCookie, OnboardPath, p); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, OnboardPage+"?"+url.Values{"username": {id.Username}, "redirect_url": {st.Redirect}}.Encode(), http.StatusFound)
	default:
		s.startSession(w, r, name, st.Redirect)
	}
}

// known returns the name of the user linked to id's subject after
// recording its groups, "" when there is none.
func (s *Service) known(ctx context.Context, id *identity) (string, error) {
	l, err := s.links.bySubject(ctx, id.Issuer, id.Subject)
	if errors.Is(err, auth.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if _, err := s.users.Onboard(ctx, l.Username, id.Email, id.Name, SourceOIDC); err != nil {
		return "", err
	}
	return l.Username, s.links.update(ctx, l.Username, id.Groups, id.Admin, id.Refresh)
}

// create onboards id as name: auth.ErrExists when the name is taken,
// auth.ErrInvalid when it is not a valid user name.
func (s *Service) create(ctx context.Context, id *identity, name string) (string, error) {
	name = auth.CanonicalUserName(name)
	if err := auth.ValidateUserName(name); err != nil {
		return "", err
	}
	if _, err := s.users.Get(ctx, name); err == nil {
		return "", fmt.Errorf("%w: user name %q is taken", auth.ErrExists, name)
	} else if !errors.Is(err, auth.ErrNotFound) {
		return "", err
	}
	if _, err := s.users.Onboard(ctx, name, id.Email, id.Name, SourceOIDC); err != nil {
		return "", err
	}
	l := Link{Username: name, Issuer: id.Issuer, Subject: id.Subject, Groups: id.Groups, Admin: id.Admin}
	if err := s.links.create(ctx, l, id.Refresh, NewSecret()); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "oidc: onboarded a user", "user", name, "issuer", id.Issuer)
	return name, nil
}

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
	s.clearCookie(w, onboardCookie, OnboardPath)
	if err := s.sessions.Start(w, r, name); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Service) startSession(w http.ResponseWriter, r *http.Request, name, redirect string) {
	if err := s.sessions.Start(w, r, name); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, localRedirect(redirect), http.StatusFound)
}

// logoutHandler ends the browser session, then sends the browser to the
// provider's end_session_endpoint when it has one, else to "/".
func (s *Service) logoutHandler(w http.ResponseWriter, r *http.Request) {
	if s.logout != nil {
		if err := s.logout(w, r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	target := "/"
	if d, err := s.provider(r.Context()); err == nil && d.endSession != "" {
		u, err := url.Parse(d.endSession)
		if err == nil {
			q := u.Query()
			q.Set("client_id", s.cfg.ClientID)
			if base, err := url.Parse(s.cfg.RedirectURL); err == nil {
				q.Set("post_logout_redirect_uri", base.Scheme+"://"+base.Host+"/")
			}
			u.RawQuery = q.Encode()
			target = u.String()
		}
	}
	http.Redirect(w, r, target, http.StatusFound)
}

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
