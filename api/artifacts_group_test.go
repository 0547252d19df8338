package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// pushRaw stores blobs and a manifest in repo under ref through /v2/ and
// returns the manifest's digest.
func (e *env) pushRaw(repo, ref, mediaType string, manifest []byte, blobs ...[]byte) digest.Digest {
	e.t.Helper()
	for _, b := range blobs {
		req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost,
			e.srv.URL+"/v2/"+repo+"/blobs/uploads/?digest="+digest.FromBytes(b).String(), bytes.NewReader(b))
		require.NoError(e.t, err)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := e.srv.Client().Do(req)
		require.NoError(e.t, err)
		resp.Body.Close()
		require.Equal(e.t, http.StatusCreated, resp.StatusCode)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPut, e.srv.URL+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(manifest))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", mediaType)
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	resp.Body.Close()
	require.Equal(e.t, http.StatusCreated, resp.StatusCode)
	return digest.FromBytes(manifest)
}

func manifestOf(t *testing.T, artifactType string, config v1.Descriptor, subject *v1.Descriptor, layers ...v1.Descriptor) []byte {
	t.Helper()
	m := v1.Manifest{MediaType: v1.MediaTypeImageManifest, ArtifactType: artifactType, Config: config, Layers: layers, Subject: subject}
	if m.Layers == nil {
		m.Layers = []v1.Descriptor{}
	}
	m.SchemaVersion = 2
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func describe(mediaType string, b []byte) v1.Descriptor {
	return v1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// chartArchive is a Helm chart's .tgz with these files under its
// directory.
func chartArchive(t *testing.T, name string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for n, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name + "/" + n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

func TestListAllRepositories(t *testing.T) {
	e := newEnv(t)
	e.user("dev", "other")
	e.project("team", false, "dev=developer")
	e.project("secret", false)
	e.project("library", true)
	e.push("team/app", "v1")
	e.push("team/tools", "v1")
	e.push("secret/vault", "v1")
	e.push("library/nginx", "1")

	tests := []struct {
		name string
		who  cred
		path string
		want []string
	}{
		{"admin sees all", admin(), "/repositories", []string{"library/nginx", "secret/vault", "team/app", "team/tools"}},
		{"member: own and public", as("dev"), "/repositories", []string{"library/nginx", "team/app", "team/tools"}},
		{"other user: public", as("other"), "/repositories", []string{"library/nginx"}},
		{"anonymous: public", anonymous, "/repositories", []string{"library/nginx"}},
		{"fuzzy", as("dev"), "/repositories?q=name%3D~t", []string{"team/app", "team/tools"}},
		{"exact", as("dev"), "/repositories?q=name%3Dteam/app", []string{"team/app"}},
		{"exact, not visible", as("dev"), "/repositories?q=name%3Dsecret/vault", []string{}},
		{"union, the invisible left out", as("dev"), "/repositories?sort=-name&q=" + url.QueryEscape(url.QueryEscape("name={secret/vault team/app library/nginx}")),
			[]string{"team/app", "library/nginx"}},
		{"sort descending", as("dev"), "/repositories?sort=-name", []string{"team/tools", "team/app", "library/nginx"}},
		{"sort by creation", admin(), "/repositories?sort=creation_time&page_size=2", []string{"team/app", "team/tools"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, names(t, e.do(tt.who, http.MethodGet, tt.path, nil), "name"))
		})
	}
	r := e.do(admin(), http.MethodGet, "/repositories?page_size=1&page=2", nil)
	var repos []api.Repository
	r.ok(t, http.StatusOK, &repos)
	require.Len(t, repos, 1)
	assert.Equal(t, "4", r.Header.Get("X-Total-Count"))
	assert.Positive(t, repos[0].ID)
	assert.Positive(t, repos[0].ProjectID)

	e.do(admin(), http.MethodGet, "/repositories?sort=size", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodGet, "/repositories?q=owner%3Dx", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}

func TestUpdateRepository(t *testing.T) {
	e := newEnv(t)
	e.user("dev", "guest")
	e.project("team", false, "dev=developer", "guest=guest")
	e.push("team/app", "v1")

	e.do(as("dev"), http.MethodPut, "/projects/team/repositories/app", map[string]string{"description": "the app"}).ok(t, http.StatusOK, nil)
	var repo api.Repository
	e.do(as("guest"), http.MethodGet, "/projects/team/repositories/app", nil).ok(t, http.StatusOK, &repo)
	assert.Equal(t, "the app", repo.Description)
	assert.Positive(t, repo.ID)

	e.do(as("guest"), http.MethodPut, "/projects/team/repositories/app", map[string]string{"description": "x"}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodPut, "/projects/team/repositories/app", map[string]string{"description": "x"}).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("dev"), http.MethodPut, "/projects/team/repositories/app", `{"description": 3}`).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("dev"), http.MethodPut, "/projects/team/repositories/nope", map[string]string{"description": "x"}).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("dev"), http.MethodPut, "/projects/team/repositories/app", map[string]string{"description": strings.Repeat("x", 70000)}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
}

func TestArtifactIDs(t *testing.T) {
	e := newEnv(t)
	e.project("team", false)
	d := e.push("team/app", "v1")
	var art api.Artifact
	e.do(admin(), http.MethodGet, "/projects/team/repositories/app/artifacts/v1", nil).ok(t, http.StatusOK, &art)
	assert.Positive(t, art.ID)
	assert.Positive(t, art.RepositoryID)
	require.Len(t, art.Tags, 1)
	assert.Positive(t, art.Tags[0].ID)
	assert.Equal(t, art.ID, art.Tags[0].ArtifactID)
	assert.Equal(t, art.RepositoryID, art.Tags[0].RepositoryID)
	assert.Equal(t, "application/vnd.docker.container.image.v1+json", art.MediaType, "a Docker image: its config's media type")
	assert.Equal(t, "application/vnd.docker.distribution.manifest.v2+json", art.ManifestMediaType)
	assert.Equal(t, api.AdditionLink{Href: api.BasePath + "/projects/team/repositories/app/artifacts/" + d + "/additions/build_history"},
		art.AdditionLinks["build_history"])
	var tags []api.Tag
	e.do(admin(), http.MethodGet, "/projects/team/repositories/app/artifacts/v1/tags", nil).ok(t, http.StatusOK, &tags)
	require.Len(t, tags, 1)
	assert.Equal(t, art.Tags[0].ID, tags[0].ID)
}

func TestCreateTag(t *testing.T) {
	e := newEnv(t)
	e.user("dev", "guest")
	e.project("team", false, "dev=developer", "guest=guest")
	d := e.push("team/app", "v1")
	base := "/projects/team/repositories/app/artifacts/"

	r := e.do(as("dev"), http.MethodPost, base+d+"/tags", map[string]string{"name": "v2"})
	r.ok(t, http.StatusCreated, nil)
	assert.Equal(t, api.BasePath+base+d+"/tags/v2", r.Header.Get("Location"))
	var art api.Artifact
	e.do(as("dev"), http.MethodGet, base+"v2", nil).ok(t, http.StatusOK, &art)
	assert.Equal(t, d, art.Digest)
	assert.Len(t, art.Tags, 2)

	e.do(as("dev"), http.MethodPost, base+"v1/tags", map[string]string{"name": "v2"}).fails(t, http.StatusConflict, "CONFLICT")
	e.do(as("guest"), http.MethodPost, base+"v1/tags", map[string]string{"name": "v3"}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodPost, base+"v1/tags", map[string]string{"name": "v3"}).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("dev"), http.MethodPost, base+"v1/tags", map[string]string{"name": "-bad"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("dev"), http.MethodPost, base+"v1/tags", `{"name":`).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("dev"), http.MethodPost, base+"nope/tags", map[string]string{"name": "v3"}).fails(t, http.StatusNotFound, "NOT_FOUND")
}

func TestCopyArtifact(t *testing.T) {
	e := newEnv(t)
	e.user("dev", "outsider")
	e.project("src", false, "dev=guest", "outsider=developer")
	e.project("dst", false, "dev=developer")
	d := e.push("src/app", "v1")

	r := e.do(as("dev"), http.MethodPost, "/projects/dst/repositories/copy/artifacts?from=src/app:v1", nil)
	r.ok(t, http.StatusCreated, nil)
	assert.Equal(t, api.BasePath+"/projects/dst/repositories/copy/artifacts/"+d, r.Header.Get("Location"))
	var art api.Artifact
	e.do(as("dev"), http.MethodGet, "/projects/dst/repositories/copy/artifacts/v1", nil).ok(t, http.StatusOK, &art)
	assert.Equal(t, d, art.Digest, "a copy by tag is tagged alike")

	e.do(as("dev"), http.MethodPost, "/projects/dst/repositories/bydigest/artifacts?from=src/app@"+d, nil).ok(t, http.StatusCreated, nil)
	var arts []api.Artifact
	e.do(as("dev"), http.MethodGet, "/projects/dst/repositories/bydigest/artifacts", nil).ok(t, http.StatusOK, &arts)
	require.Len(t, arts, 1)
	assert.Empty(t, arts[0].Tags)

	// Pull on the source and push on the target, both needed.
	e.do(as("outsider"), http.MethodPost, "/projects/dst/repositories/x/artifacts?from=src/app:v1", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("dev"), http.MethodPost, "/projects/src/repositories/x/artifacts?from=dst/copy:v1", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodPost, "/projects/dst/repositories/x/artifacts?from=src/app:v1", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	for _, from := range []string{"", "src/app", "src/app:-x", "src/app@sha256:nothex", "app:v1", "src/App:v1", "src/app:v1/x"} {
		e.do(as("dev"), http.MethodPost, "/projects/dst/repositories/x/artifacts?from="+from, nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	}
	e.do(as("dev"), http.MethodPost, "/projects/dst/repositories/x/artifacts?from=src/app:nope", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("dev"), http.MethodPost, "/projects/dst/repositories/x/artifacts?from=gone/app:v1", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}

func TestListArtifactsOfProject(t *testing.T) {
	e := newEnv(t)
	e.user("guest")
	e.project("team", false, "guest=guest")
	e.project("other", false)
	e.push("team/a", "v1")
	e.push("team/b/c", "v1")
	e.push("other/x", "v1")

	r := e.do(as("guest"), http.MethodGet, "/projects/team/artifacts", nil)
	assert.Equal(t, []string{"team/b/c", "team/a"}, names(t, r, "repository_name"), "newest first")
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))
	e.do(as("guest"), http.MethodGet, "/projects/other/artifacts", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("guest"), http.MethodGet, "/projects/team/artifacts?with_tag=maybe", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("guest"), http.MethodGet, "/projects/nope/artifacts", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}
