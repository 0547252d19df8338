package main

// End-to-end checks of two upload findings against the real server with
// auth on: one user's open upload sessions cannot block everyone's pushes,
// and a mount without a source never reads a repository the caller may
// not pull.

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/registry"
)

// Harbor's role ids, as the members API takes them.
const (
	roleIDDeveloper = 2
)

// startSecureServer runs the server with auth on; the admin's password is
// e2eAdminPassword.
func startSecureServer(t *testing.T) *serverProc {
	t.Helper()
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	return startServer(t, t.TempDir(), "-auth=true")
}

// basicAuth is the Authorization header pair for user.
func basicAuth(user, pass string) []string {
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

// addDeveloper creates user and makes it a developer of project, limited
// to the repositories matching repos ("" for the whole project).
func (s *serverProc) addDeveloper(t *testing.T, user, pass, project, repos string) {
	t.Helper()
	s.mustAdminAPI(t, http.MethodPost, "/users", api.UserCreationReq{Username: user, Password: pass,
		Email: user + "@berth.test", Realname: user}, http.StatusCreated)
	s.mustAdminAPI(t, http.MethodPost, "/projects/"+project+"/members", api.ProjectMember{RoleID: roleIDDeveloper,
		MemberUser: &api.UserEntity{Username: user}, Repositories: repos}, http.StatusCreated)
}

// createPrivateProject creates a private project as admin.
func (s *serverProc) createPrivateProject(t *testing.T, name string) {
	t.Helper()
	public := false
	s.mustAdminAPI(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: name, Public: &public}, http.StatusCreated)
}

// pushBlobAs stores content in repo with one monolithic POST, as auth
// (a basicAuth pair).
func (s *serverProc) pushBlobAs(t *testing.T, auth []string, repo string, content []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(content)
	r := s.do(http.MethodPost, withQuery("/v2/"+repo+"/blobs/uploads/", "digest", d.String()), content,
		append([]string{"Content-Type", "application/octet-stream"}, auth...)...)
	require.Equal(t, http.StatusCreated, r.status, "push blob to %s: %s", repo, r.body)
	return d
}

// One user holding its whole per-user cap of open sessions gets 429
// naming that cap; another user of another project still pushes, through
// a resumable session as clients do.
func TestSecurityUploadSessionsCappedPerUser(t *testing.T) {
	s := startSecureServer(t)
	for _, p := range []string{"alpha", "beta"} {
		s.createPrivateProject(t, p)
	}
	const alicePass, bobPass = "alice-password-1", "bob-password-1"
	s.addDeveloper(t, "alice", alicePass, "alpha", "")
	s.addDeveloper(t, "bob", bobPass, "beta", "")
	alice, bob := basicAuth("alice", alicePass), basicAuth("bob", bobPass)

	var first string
	opened := 0
	var refused response
	for range registry.DefaultMaxOpenUploadsPerUser + 1 {
		r := s.do(http.MethodPost, "/v2/alpha/app/blobs/uploads/", nil, alice...)
		if r.status != http.StatusAccepted {
			refused = r
			break
		}
		if first == "" {
			first = r.header.Get("Location")
		}
		opened++
	}
	require.Equal(t, registry.DefaultMaxOpenUploadsPerUser, opened, "alice opens exactly her cap")
	require.Equal(t, http.StatusTooManyRequests, refused.status, "%s", refused.body)
	assert.Equal(t, "TOOMANYREQUESTS", refused.errCode())
	assert.NotEmpty(t, refused.header.Get("Retry-After"))
	assert.Contains(t, string(refused.body), "per-user limit")
	// Another repository changes nothing: the cap is hers.
	r := s.do(http.MethodPost, "/v2/alpha/other/blobs/uploads/", nil, alice...)
	require.Equal(t, http.StatusTooManyRequests, r.status, "%s", r.body)

	// Bob pushes an image: config monolithic, layer through a session.
	config, layer := imageConfig("amd64"), randomBytes(4096)
	s.pushBlobAs(t, bob, "beta/app", config)
	r = s.do(http.MethodPost, "/v2/beta/app/blobs/uploads/", nil, bob...)
	require.Equal(t, http.StatusAccepted, r.status, "bob's session: %s", r.body)
	loc := r.header.Get("Location")
	r = s.do(http.MethodPatch, loc, layer, append([]string{"Content-Type", "application/octet-stream"}, bob...)...)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	r = s.do(http.MethodPut, withQuery(r.header.Get("Location"), "digest", digest.FromBytes(layer).String()), nil, bob...)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	manifest := imageManifest(t, config, layer)
	r = s.do(http.MethodPut, "/v2/beta/app/manifests/v1", manifest, append([]string{"Content-Type", manifestType}, bob...)...)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)

	// A session alice ends gives her its slot back.
	require.Equal(t, http.StatusNoContent, s.do(http.MethodDelete, first, nil, alice...).status)
	r = s.do(http.MethodPost, "/v2/alpha/app/blobs/uploads/", nil, alice...)
	assert.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
}

// A member whose grant covers only secret/team/** cannot link a layer of
// secret/app into its repository by mounting its digest: without from the
// mount falls back to an upload, with from=secret/app it is refused, and
// the blob stays unreadable. Mounts from repositories it may pull work.
func TestSecurityMountWithoutSourceStaysInPullableRepositories(t *testing.T) {
	s := startSecureServer(t)
	s.createPrivateProject(t, "secret")
	const devPass = "team-dev-password-1"
	s.addDeveloper(t, "teamdev", devPass, "secret", "secret/team/**")
	admin, dev := basicAuth("admin", e2eAdminPassword), basicAuth("teamdev", devPass)

	secretLayer := randomBytes(2048)
	config := imageConfig("amd64")
	d := s.pushBlobAs(t, admin, "secret/app", secretLayer)
	s.pushBlobAs(t, admin, "secret/app", config)
	r := s.do(http.MethodPut, "/v2/secret/app/manifests/v1", imageManifest(t, config, secretLayer),
		append([]string{"Content-Type", manifestType}, admin...)...)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)

	blobPath := "/v2/secret/team/x/blobs/" + d.String()
	r = s.do(http.MethodGet, "/v2/secret/app/blobs/"+d.String(), nil, dev...)
	require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, r.status, "the grant does not cover secret/app")

	r = s.do(http.MethodPost, "/v2/secret/team/x/blobs/uploads/?mount="+d.String(), nil, dev...)
	require.Equal(t, http.StatusAccepted, r.status, "an upload, not a mount: %s", r.body)
	assert.True(t, strings.HasPrefix(r.header.Get("Location"), "/v2/secret/team/x/blobs/uploads/"), r.header.Get("Location"))
	r = s.do(http.MethodGet, blobPath, nil, dev...)
	require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
	assert.Equal(t, "BLOB_UNKNOWN", r.errCode())

	r = s.do(http.MethodPost, "/v2/secret/team/x/blobs/uploads/?mount="+d.String()+"&from=secret/app", nil, dev...)
	require.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, r.status, "from needs pull on from: %s", r.body)
	r = s.do(http.MethodGet, blobPath, nil, dev...)
	require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)

	// Where the caller may pull, sourceless mounts still link.
	own := s.pushBlobAs(t, dev, "secret/team/y", randomBytes(1024))
	r = s.do(http.MethodPost, "/v2/secret/team/x/blobs/uploads/?mount="+own.String(), nil, dev...)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = s.do(http.MethodGet, "/v2/secret/team/x/blobs/"+own.String(), nil, dev...)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = s.do(http.MethodPost, "/v2/secret/other/blobs/uploads/?mount="+d.String(), nil, admin...)
	require.Equal(t, http.StatusCreated, r.status, "the admin may pull secret/app: %s", r.body)
}
