package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/berthlabs/berth/auth"
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
		if err := s.setCookie(w, onboardCookie, onboardCookiePath, p); err != nil {
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

func (s *Service) startSession(w http.ResponseWriter, r *http.Request, name, redirect string) {
	if err := s.sessions.Start(w, r, name); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, localRedirect(redirect), http.StatusFound)
}
