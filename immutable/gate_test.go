package immutable_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/berthlabs/berth/tagselect"
)

// lazyArtifacts lets the gate be built before the registry it reads.
type lazyArtifacts struct{ reg *registry.Registry }

func (l *lazyArtifacts) GetArtifact(ctx context.Context, repo, ref string) (*registry.Artifact, error) {
	return l.reg.GetArtifact(ctx, repo, ref)
}

type gateEnv struct {
	store    *immutable.Store
	projects *project.Store
	reg      *registry.Registry
	srv      *httptest.Server
	libID    int64
}

func newGateEnv(t *testing.T, db *sqldb.DB) *gateEnv {
	t.Helper()
	ctx := t.Context()
	projects, err := project.NewStore(ctx, db)
	require.NoError(t, err)
	lib, err := projects.Create(ctx, project.Project{Name: "lib"})
	require.NoError(t, err)
	_, err = projects.Create(ctx, project.Project{Name: "free"})
	require.NoError(t, err)
	store, err := immutable.NewStore(ctx, db)
	require.NoError(t, err)
	arts := &lazyArtifacts{}
	gate := immutable.NewGate(store, projects, arts)
	reg, err := registry.New(ctx, memory.New(), db, registry.WithPushGate(gate), registry.WithDeleteGate(gate),
		registry.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	arts.reg = reg
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return &gateEnv{store: store, projects: projects, reg: reg, srv: srv, libID: lib.ID}
}

func (e *gateEnv) ref(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(e.srv.URL, "http://")+"/"+ref, name.Insecure)
	require.NoError(t, err)
	return r
}

func (e *gateEnv) push(t *testing.T, img v1.Image, ref string) error {
	t.Helper()
	return remote.Write(e.ref(t, ref), img)
}

// putManifest PUTs an image's manifest to a tag directly, so the registry
// (and its gate) sees the push even when the tag points at it already.
func (e *gateEnv) putManifest(t *testing.T, img v1.Image, repo, tag string) *http.Response {
	t.Helper()
	raw, err := img.RawManifest()
	require.NoError(t, err)
	mt, err := img.MediaType()
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", string(mt))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *gateEnv) delete(t *testing.T, repo, ref string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, e.srv.URL+"/v2/"+repo+"/manifests/"+ref, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode, errorMessage(t, resp.Body)
}

func errorMessage(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	if len(b) == 0 {
		return ""
	}
	var body struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(b, &body), "%s", b)
	require.Len(t, body.Errors, 1)
	return body.Errors[0].Code + ": " + body.Errors[0].Message
}

func image(t *testing.T) (v1.Image, digest.Digest) {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	d, err := img.Digest()
	require.NoError(t, err)
	return img, digest.Digest(d.String())
}

func refused(t *testing.T, err error) (int, string) {
	t.Helper()
	var te *transport.Error
	require.ErrorAs(t, err, &te)
	require.NotEmpty(t, te.Errors)
	return te.StatusCode, string(te.Errors[0].Code) + ": " + te.Errors[0].Message
}

func TestGateThroughTheRegistry(t *testing.T) { onEngines(t, testGateThroughTheRegistry) }

func testGateThroughTheRegistry(t *testing.T, db *sqldb.DB) {
	e := newGateEnv(t, db)
	ctx := t.Context()
	_, err := e.store.Create(ctx, newRule(e.libID, "**", "v*"))
	require.NoError(t, err)

	img1, d1 := image(t)
	img2, d2 := image(t)
	require.NoError(t, e.push(t, img1, "lib/app:v1"), "a new immutable tag may be pushed")
	require.NoError(t, e.push(t, img1, "lib/app:latest"))
	resp := e.putManifest(t, img1, "lib/app", "v1")
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "pushing the manifest a tag points at again passes")

	status, msg := refused(t, e.push(t, img2, "lib/app:v1"))
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Equal(t, "DENIED: the tag v1 configured as immutable, cannot be updated", msg)
	got, err := e.reg.GetArtifact(ctx, "lib/app", "v1")
	require.NoError(t, err)
	assert.Equal(t, d1, got.Digest, "the tag did not move")

	require.NoError(t, e.push(t, img2, "lib/app:v2"), "another new tag")
	require.NoError(t, e.push(t, img2, "lib/app:latest"), "a mutable tag moves")
	require.NoError(t, e.push(t, img2, "lib/other:v1"), "the same tag name in another repository is new there")
	require.NoError(t, e.push(t, img1, "free/app:v1"))
	require.NoError(t, e.push(t, img2, "free/app:v1"), "a project without rules")

	status, msg = e.delete(t, "lib/app", "v1")
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Equal(t, "DENIED: the tag v1 configured as immutable, cannot be deleted", msg)
	status, msg = e.delete(t, "lib/app", d1.String())
	assert.Equal(t, http.StatusPreconditionFailed, status, "an artifact holding an immutable tag")
	assert.Equal(t, "DENIED: the tag v1 configured as immutable, cannot be deleted", msg)
	status, _ = e.delete(t, "lib/app", "latest")
	assert.Equal(t, http.StatusAccepted, status, "a mutable tag")

	err = e.reg.DeleteArtifact(ctx, "lib/app", d2)
	require.Error(t, err, "v2 holds it")
	assert.ErrorIs(t, err, immutable.ErrImmutable)
	assert.ErrorIs(t, err, core.ErrPrecondition)
	var re *registry.Error
	require.True(t, errors.As(err, &re))
	assert.Equal(t, "the tag v2 configured as immutable, cannot be deleted", re.Message)
	var ie *immutable.Error
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, "v2", ie.Tag)
	assert.Error(t, e.reg.DeleteRepository(ctx, "lib/app"), "a repository holding immutable tags")

	// Disabled, the rule holds nothing.
	rules, _, err := e.store.List(ctx, e.libID, core.Page{})
	require.NoError(t, err)
	r := rules[0]
	r.Disabled = true
	_, err = e.store.Update(ctx, r)
	require.NoError(t, err)
	require.NoError(t, e.push(t, img2, "lib/app:v1"), "the rule is disabled")
	status, _ = e.delete(t, "lib/app", "v1")
	assert.Equal(t, http.StatusAccepted, status)
}

func TestGateScopes(t *testing.T) { onEngines(t, testGateScopes) }

func testGateScopes(t *testing.T, db *sqldb.DB) {
	e := newGateEnv(t, db)
	ctx := t.Context()
	r := newRule(e.libID, "app", "**")
	r.ScopeSelectors[0].Decoration = tagselect.RepoExcludes
	_, err := e.store.Create(ctx, r) // every tag of every repository but lib/app
	require.NoError(t, err)

	img1, _ := image(t)
	img2, _ := image(t)
	require.NoError(t, e.push(t, img1, "lib/app:x"))
	require.NoError(t, e.push(t, img2, "lib/app:x"), "lib/app is excluded")
	require.NoError(t, e.push(t, img1, "lib/web:x"))
	status, msg := refused(t, e.push(t, img2, "lib/web:x"))
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, msg, "the tag x configured as immutable")

	// A push by digest sets no tag: nothing to check.
	d2, err := img2.Digest()
	require.NoError(t, err)
	require.NoError(t, e.push(t, img2, "lib/web@"+d2.String()))
}
