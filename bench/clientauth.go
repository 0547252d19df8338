package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// authMode is how a client proves who it is to the registry.
type authMode int

const (
	authNone  authMode = iota
	authToken          // Docker token flow: 401 challenge, token from the realm with Basic credentials, then Bearer
	authBasic          // Basic credentials sent directly on every /v2/ request
)

func (m authMode) String() string {
	switch m {
	case authToken:
		return "token"
	case authBasic:
		return "basic"
	}
	return "none"
}

// credentials are one registry client's identity and token cache, as in a
// docker or containerd process: a Bearer challenge is answered by fetching
// a token from its realm with Basic credentials; the token is cached per
// scope and reused until shortly before it expires, and a 401 despite a
// cached token drops it and fetches a new one. Safe for concurrent use.
type credentials struct {
	mode       authMode
	user, pass string
	basic      string // precomputed "Basic <base64>"
	now        func() time.Time

	mu      sync.Mutex
	tokens  map[string]bearer // by scope
	fetches atomic.Int64      // tokens fetched from the realm
}

type bearer struct {
	header  string // "Bearer <token>"
	expires time.Time
}

func newCredentials(mode authMode, user, pass string) *credentials {
	return &credentials{mode: mode, user: user, pass: pass, now: time.Now, tokens: map[string]bearer{},
		basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

// withCredentials returns a client sharing c's connections that
// authenticates with cr (nil: anonymous).
func (c *client) withCredentials(cr *credentials) *client {
	cp := *c
	cp.auth = cr
	return &cp
}

// send performs req, authenticating it as c.auth says. In token mode a 401
// is answered once: by a new token for the challenge, then a replay of req
// (its body through GetBody). The 401 itself is returned when it cannot be
// answered by a retry (no Bearer challenge is an error).
func (c *client) send(req *http.Request) (*http.Response, error) {
	a := c.auth
	if a == nil || a.mode == authNone {
		return c.hc.Do(req)
	}
	if a.mode == authBasic {
		req.Header.Set("Authorization", a.basic)
		return c.hc.Do(req)
	}
	scope := requestScope(req)
	if h := a.cached(scope); h != "" {
		req.Header.Set("Authorization", h)
	}
	resp, err := c.hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	a.forget(scope)
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return nil, errors.New("401 on a request whose body cannot be replayed")
	}
	h, err := a.fetch(req.Context(), c.hc, challenge, scope)
	if err != nil {
		return nil, err
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	retry.Header.Set("Authorization", h)
	return c.hc.Do(retry)
}

// requestScope is the token scope a client asks for before sending req, as
// docker derives it from the operation: repository:<name>:pull for reads,
// :pull,push for writes, :delete for deletes; "" outside a repository.
func requestScope(req *http.Request) string {
	p, ok := strings.CutPrefix(req.URL.Path, "/v2/")
	if !ok {
		return ""
	}
	end := -1
	for _, seg := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		end = max(end, strings.LastIndex(p, seg))
	}
	if end <= 0 {
		return ""
	}
	actions := "pull,push"
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		actions = "pull"
	case http.MethodDelete:
		actions = "delete"
	}
	return "repository:" + p[:end] + ":" + actions
}

func (a *credentials) cached(scope string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.tokens[scope]
	if !ok || !a.now().Before(t.expires) {
		return ""
	}
	return t.header
}

func (a *credentials) forget(scope string) {
	a.mu.Lock()
	delete(a.tokens, scope)
	a.mu.Unlock()
}

// fetch answers a Bearer challenge: GET <realm>?service=<service>&scope=...
// with Basic credentials (the challenge's scope, plus ours when it differs)
// and caches the token under scope.
func (a *credentials) fetch(ctx context.Context, hc *http.Client, challenge, scope string) (string, error) {
	scheme, params := parseChallenge(challenge)
	if !strings.EqualFold(scheme, "Bearer") || params["realm"] == "" {
		return "", fmt.Errorf("401 without a Bearer challenge (WWW-Authenticate %q)", challenge)
	}
	u, err := url.Parse(params["realm"])
	if err != nil {
		return "", fmt.Errorf("challenge realm: %w", err)
	}
	q := u.Query()
	if s := params["service"]; s != "" {
		q.Set("service", s)
	}
	if s := params["scope"]; s != "" {
		q.Add("scope", s)
	}
	if scope != "" && scope != params["scope"] {
		q.Add("scope", scope)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", a.basic)
	t0 := a.now()
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token request %s: status %d: %s", u.Path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	tok := tr.Token
	if tok == "" {
		tok = tr.AccessToken
	}
	if tok == "" {
		return "", errors.New("token response without a token")
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if tr.ExpiresIn <= 0 {
		life = 60 * time.Second // the token spec's default
	}
	// Refresh a little early so a request never carries a token about to
	// expire in flight.
	t := bearer{header: "Bearer " + tok, expires: t0.Add(life - min(30*time.Second, life/4))}
	a.fetches.Add(1)
	if scope != "" {
		a.mu.Lock()
		a.tokens[scope] = t
		a.mu.Unlock()
	}
	return t.header, nil
}

// parseChallenge splits a WWW-Authenticate value such as
//
//	Bearer realm="https://h/service/token",service="berth",scope="repository:a/b:pull"
//
// into its scheme and parameters (names lower-cased, quoted values
// unescaped). Only the first challenge is read.
func parseChallenge(h string) (scheme string, params map[string]string) {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	params = map[string]string{}
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return scheme, params
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return scheme, params
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				val.WriteByte(rest[i])
			}
			rest = rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val.WriteString(strings.TrimSpace(rest[:end]))
			rest = rest[end:]
		}
		params[name] = val.String()
	}
}
