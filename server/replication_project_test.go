package server

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// Replicating into a project that does not exist creates it (private), so
// the repository is visible to the API and governed by RBAC; a name that
// cannot be a project fails the copy instead of storing an orphan.
func TestReplicationCreatesTheDestinationProject(t *testing.T) {
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	projects, err := project.NewStore(ctx, db)
	require.NoError(t, err)
	reg, err := registry.New(ctx, memory.New(), db)
	require.NoError(t, err)
	tr := &projectCreator{next: reg.Transport("replication"), projects: projects,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), known: map[string]bool{}}

	img, err := random.Image(1024, 1)
	require.NoError(t, err)
	for _, ref := range []string{"mirror/team/app:1", "mirror/team/app:2"} {
		r, err := name.ParseReference("berth.internal/" + ref)
		require.NoError(t, err)
		require.NoError(t, remote.Write(r, img, remote.WithTransport(tr)))
	}
	p, err := projects.Get(ctx, "mirror")
	require.NoError(t, err)
	assert.False(t, p.Public)
	assert.Equal(t, "replication", p.Owner)

	// Deleted (once emptied), then replicated into again: created again.
	require.NoError(t, reg.DeleteRepository(ctx, "mirror/team/app"))
	require.NoError(t, projects.Delete(ctx, "mirror"))
	tr.forget("mirror")
	r, err := name.ParseReference("berth.internal/mirror/team/app:3")
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img, remote.WithTransport(tr)))
	_, err = projects.Get(ctx, "mirror")
	require.NoError(t, err)

	long := strings.Repeat("a", project.MaxNameLength+1) // too long for a project name
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://berth.internal/v2/"+long+"/app/blobs/uploads/", nil)
	require.NoError(t, err)
	_, err = tr.RoundTrip(req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "characters long")
	_, err = reg.GetArtifact(ctx, long+"/app", "1")
	assert.ErrorIs(t, err, registry.ErrNotFound)

	for path, want := range map[string]string{
		"/v2/a/b/blobs/uploads/":      "a/b",
		"/v2/a/manifests/v1":          "a",
		"/v2/a/blobs/sha256:00":       "a",
		"/v2/_catalog":                "",
		"/v2/a/b/manifests/x/blobs/y": "a/b/manifests/x",
		"/other/a/manifests/v1":       "",
	} {
		got, _ := repositoryOf(path)
		assert.Equal(t, want, got, path)
	}
}
