package main

// Helpers shared by the end-to-end tests that drive the whole server over
// HTTP: the management API, the token service and the registry, with real
// clients (crane) and plain net/http.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/server"
)

// e2eAdminPassword is the admin password startAuthApp and startE2EApp set.
const e2eAdminPassword = "admin-password-1"

// e2eRequestTimeout bounds every HTTP exchange of these helpers.
const e2eRequestTimeout = 30 * time.Second

// startE2EApp is startAuthApp with the configuration changed by mod before
// the server is assembled (an LDAP directory, for example), and opts.
func startE2EApp(t *testing.T, mod func(*server.Config), opts ...server.Option) *authApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	host := srv.Listener.Addr().String()
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.ExternalURL, cfg.AdminPassword, cfg.UploadMaxAge = t.TempDir(), "http://"+host, e2eAdminPassword, time.Hour
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := server.New(context.Background(), cfg, append([]server.Option{server.WithLogger(log)}, opts...)...)
	if err != nil {
		srv.Close()
		require.NoError(t, err)
	}
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = a.Close(context.Background())
	})
	return &authApp{Server: a, srv: srv, host: host}
}

// e2eResp is a finished HTTP exchange.
type e2eResp struct {
	status int
	header http.Header
	body   []byte
}

// harborError is the first entry of a Harbor-shaped error body
// ({"errors":[{"code","message"}]}), or zeros when the body is not one.
func (r e2eResp) harborError() (code, message string) {
	var b api.Errors
	if json.Unmarshal(r.body, &b) != nil || len(b.Errors) == 0 {
		return "", ""
	}
	return b.Errors[0].Code, b.Errors[0].Message
}

func (r e2eResp) String() string {
	return http.StatusText(r.status) + " " + strings.TrimSpace(string(r.body))
}

// e2eDo sends one request to the server with optional Basic credentials
// (none when user is empty), a JSON body when body is not nil, and headers
// as name, value pairs.
func e2eDo(t *testing.T, a *authApp, user, pass, method, path string, body any, header ...string) e2eResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), e2eRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.srv.URL+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.srv.Client().Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "%s %s", method, path)
	return e2eResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// e2eAdmin calls the management API as the system admin and requires the
// answer's status to be want.
func e2eAdmin(t *testing.T, a *authApp, method, path string, body any, want int) e2eResp {
	t.Helper()
	r := e2eDo(t, a, "admin", e2eAdminPassword, method, api.BasePath+path, body)
	require.Equal(t, want, r.status, "admin %s %s: %s", method, path, r)
	return r
}

// e2eCreateUser creates a local user through the API.
func e2eCreateUser(t *testing.T, a *authApp, username, password string) {
	t.Helper()
	e2eAdmin(t, a, http.MethodPost, "/users", api.UserCreationReq{Username: username, Password: password,
		Email: username + "@berth.test", Realname: username}, http.StatusCreated)
}

// e2eCreateProject creates a project through the API, as admin.
func e2eCreateProject(t *testing.T, a *authApp, projectName string, public bool) {
	t.Helper()
	e2eAdmin(t, a, http.MethodPost, "/projects", api.ProjectReq{ProjectName: projectName, Public: &public}, http.StatusCreated)
}

// e2eAddUserMember adds a user to a project with a Harbor role id, as admin.
func e2eAddUserMember(t *testing.T, a *authApp, projectName, username string, roleID int) {
	t.Helper()
	e2eAdmin(t, a, http.MethodPost, "/projects/"+projectName+"/members",
		api.ProjectMember{RoleID: roleID, MemberUser: &api.UserEntity{Username: username}}, http.StatusCreated)
}

// e2eJSON decodes a response body.
func e2eJSON[T any](t *testing.T, r e2eResp) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v), "%s", r.body)
	return v
}

// e2eToken asks the token service for scope, with Basic credentials unless
// user is empty, and returns the token and the actions it grants on the
// scope's resource (read from the token's claims).
func e2eToken(t *testing.T, a *authApp, user, pass, scope string) (string, []string) {
	t.Helper()
	q := url.Values{"service": {"berth"}, "scope": {scope}}
	r := e2eDo(t, a, user, pass, http.MethodGet, "/service/token?"+q.Encode(), nil)
	require.Equal(t, http.StatusOK, r.status, "token for %q as %q: %s", scope, user, r)
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal(r.body, &tok))
	parts := strings.Split(tok.Token, ".")
	require.Len(t, parts, 3, "a JWS in compact form")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Access []struct {
			Type, Name string
			Actions    []string
		}
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	_, resource, _ := strings.Cut(scope, ":")
	resource, _, _ = strings.Cut(resource, ":")
	var granted []string
	for _, acc := range claims.Access {
		if acc.Name == resource {
			granted = append(granted, acc.Actions...)
		}
	}
	return tok.Token, granted
}

// e2eManifestExists tells, as admin with Basic credentials, whether
// repo:ref (a tag or a digest) exists.
func e2eManifestExists(t *testing.T, a *authApp, repo, ref string) bool {
	t.Helper()
	r := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodHead, "/v2/"+repo+"/manifests/"+ref, nil,
		"Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, r.status, "HEAD %s:%s", repo, ref)
	return r.status == http.StatusOK
}

// e2eRemoteOptions are go-containerregistry options for user on a.
func e2eRemoteOptions(t *testing.T, user, pass string) []remote.Option {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: user, Password: pass})}
}

// e2ePushRandom pushes a fresh random image to ref ("repo:tag") as admin,
// through go-containerregistry's client, and returns its digest. It is for
// setup; the behaviour under test uses crane.
func e2ePushRandom(t *testing.T, a *authApp, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	r, err := name.ParseReference(a.host+"/"+ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img, e2eRemoteOptions(t, "admin", e2eAdminPassword)...), "push %s", ref)
	d, err := img.Digest()
	require.NoError(t, err)
	return d
}

// e2eTag adds tag to the manifest src ("repo:tag" or "repo@digest") in
// the same repository, as admin.
func e2eTag(t *testing.T, a *authApp, src, tag string) {
	t.Helper()
	r, err := name.ParseReference(a.host+"/"+src, name.Insecure)
	require.NoError(t, err)
	desc, err := remote.Get(r, e2eRemoteOptions(t, "admin", e2eAdminPassword)...)
	require.NoError(t, err)
	require.NoError(t, remote.Tag(r.Context().Tag(tag), desc, e2eRemoteOptions(t, "admin", e2eAdminPassword)...))
}
