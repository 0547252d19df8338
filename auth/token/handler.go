package token

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
)

// Request bounds of the token endpoint.
const (
	maxQuery      = 8 << 10 // bytes of a GET query or POST form
	maxCredential = 1 << 10 // bytes of a username or password
)

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
	Scope       string `json:"scope,omitempty"` // OAuth2 (POST) form only
}

// oauthError is an error answer: a status and an OAuth2-style body.
type oauthError struct {
	status      int
	retryAfter  int    // seconds, for 429
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, Code: code, Description: desc}
}

func errUnauthorized() *oauthError {
	return &oauthError{status: http.StatusUnauthorized, Code: "unauthorized", Description: "invalid username or password"}
}

// HarborService is the service name Harbor's token service answers to;
// Harbor's clients and scripts send it (see WithServiceAliases).
const HarborService = "harbor-registry"

// Handler serves the token endpoint (mount it at e.g. /service/token):
//
//   - GET ?service=S&scope=...&scope=...&account=A, with optional Basic
//     credentials; without them the token is anonymous (Grant gets a nil
//     identity);
//   - POST form grant_type=password&username=U&password=P&service=S&scope=...
//     (the OAuth2 variant; scopes space-separated).
//
// service must be this Service's name or one of its aliases
// (WithServiceAliases); scopes are parsed with ParseScope (at
// most MaxScopes). Wrong credentials get 401 and never a token; an
// authenticator's error with a RetryAfter() time.Duration method (too many
// failed logins) gets 429 with Retry-After; bad requests
// get 400; errors have an OAuth2-style JSON body. Right credentials of
// a disabled or expired account (ErrAccountDisabled, ErrAccountExpired)
// get 401 saying so. The token holds what authz
// grants of what was requested, never more. A nil authn refuses every
// credential; a nil authz grants nothing (the token is good for /v2/ only).
func (s *Service) Handler(authn Authenticator, authz Authorizer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		resp, err := s.serveToken(w, r, authn, authz)
		if err != nil {
			var oe *oauthError
			if !errors.As(err, &oe) {
				s.log.ErrorContext(r.Context(), "token endpoint failed", "err", err)
				oe = &oauthError{status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}
			}
			if oe.status == http.StatusUnauthorized {
				var b strings.Builder
				param(&b, "realm", s.service)
				w.Header().Set("WWW-Authenticate", "Basic "+b.String())
			}
			if oe.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(oe.retryAfter))
			}
			writeJSON(w, oe.status, oe)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func (s *Service) serveToken(w http.ResponseWriter, r *http.Request, authn Authenticator, authz Authorizer) (*tokenResponse, error) {
	tr, err := readRequest(w, r)
	if err != nil {
		return nil, err
	}
	form := tr.form
	if svc := form["service"]; len(svc) != 1 || !s.servesName(svc[0]) {
		return nil, badRequest("invalid_request", "service must be "+strconv.Quote(s.service))
	}
	var requested []core.Access
	for _, sc := range form["scope"] {
		acc, err := ParseScope(sc)
		if err != nil {
			return nil, badRequest("invalid_scope", err.Error())
		}
		if requested = append(requested, acc...); len(requested) > MaxScopes {
			return nil, badRequest("invalid_scope", "more than "+strconv.Itoa(MaxScopes)+" scopes")
		}
	}
	if acct := form.Get("account"); acct != "" && tr.hasCreds && acct != tr.user {
		return nil, badRequest("invalid_request", "account does not match the credentials")
	}
	var id *Identity
	if tr.hasCreds {
		if id, err = s.authenticate(withClientAddr(r.Context(), r.RemoteAddr), authn, tr.user, tr.pass); err != nil {
			return nil, err
		}
	}
	var granted []core.Access
	if authz != nil && len(requested) > 0 {
		granted = intersect(requested, authz.Grant(r.Context(), id, requested))
	}
	subject := ""
	if id != nil {
		subject = id.Subject
	}
	tok, err := s.Issue(subject, granted)
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{Token: tok.Raw, AccessToken: tok.Raw, ExpiresIn: tok.ExpiresIn,
		IssuedAt: tok.IssuedAt.Format(time.RFC3339)}
	if r.Method == http.MethodPost {
		resp.Scope = FormatScope(granted)
	}
	return resp, nil
}

func (s *Service) authenticate(ctx context.Context, authn Authenticator, user, pass string) (*Identity, error) {
	if authn == nil || user == "" || len(user) > maxCredential || len(pass) > maxCredential {
		return nil, errUnauthorized()
	}
	id, err := authn.Authenticate(ctx, user, pass)
	switch {
	case errors.Is(err, ErrAccountDisabled):
		return nil, &oauthError{status: http.StatusUnauthorized, Code: "unauthorized",
			Description: "account disabled: ask an administrator to enable it"}
	case errors.Is(err, ErrAccountExpired):
		return nil, &oauthError{status: http.StatusUnauthorized, Code: "unauthorized",
			Description: "account expired: ask an administrator to renew it"}
	case errors.Is(err, ErrInvalidCredentials):
		return nil, errUnauthorized()
	case throttled(err) != nil:
		return nil, throttled(err)
	case err != nil:
		return nil, err
	case id.Subject == "":
		return nil, errors.New("authenticator returned an empty subject")
	}
	return &id, nil
}

// tokenRequest is what a GET or POST token request carries.
type tokenRequest struct {
	form       url.Values
	user, pass string
	hasCreds   bool
}

// readRequest reads the parameters and credentials of a GET or POST.
func readRequest(w http.ResponseWriter, r *http.Request) (*tokenRequest, error) {
	if len(r.URL.RawQuery) > maxQuery {
		return nil, badRequest("invalid_request", "query too long")
	}
	switch r.Method {
	case http.MethodGet:
		form, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, badRequest("invalid_request", "malformed query")
		}
		tr := &tokenRequest{form: form}
		if r.Header.Get("Authorization") == "" {
			return tr, nil
		}
		if tr.user, tr.pass, tr.hasCreds = r.BasicAuth(); !tr.hasCreds {
			return nil, errUnauthorized()
		}
		return tr, nil
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxQuery)
		if err := r.ParseForm(); err != nil {
			return nil, badRequest("invalid_request", "malformed form")
		}
		form := r.PostForm
		if form.Get("grant_type") != "password" {
			return nil, badRequest("unsupported_grant_type", "grant_type must be password")
		}
		return &tokenRequest{form: form, user: form.Get("username"), pass: form.Get("password"), hasCreds: true}, nil
	}
	w.Header().Set("Allow", "GET, POST")
	return nil, &oauthError{status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "method not allowed"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
