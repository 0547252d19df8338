package filesystem_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
)

func TestLayout(t *testing.T) {
	root := t.TempDir()
	d := open(t, root)
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	_, err = up.Write(t.Context(), strings.NewReader("layer"))
	require.NoError(t, err)

	b, err := os.ReadFile(filepath.Join(root, "uploads", up.ID(), "state"))
	require.NoError(t, err)
	var st map[string]any
	require.NoError(t, json.Unmarshal(b, &st))
	assert.EqualValues(t, 5, st["offset"])
	assert.Equal(t, "sha256", st["algorithm"])
	assert.NotEmpty(t, st["hash_state"])
	for _, field := range []string{"started_at", "updated_at"} {
		_, err := time.Parse(time.RFC3339Nano, st[field].(string))
		assert.NoError(t, err, field)
	}

	dgst := digest.FromString("layer")
	require.NoError(t, up.Commit(t.Context(), dgst))
	enc := dgst.Encoded()
	got, err := os.ReadFile(filepath.Join(root, "blobs", "sha256", enc[:2], enc))
	require.NoError(t, err)
	assert.Equal(t, "layer", string(got))
	assert.NoDirExists(t, filepath.Join(root, "uploads", up.ID()))
}

// Stray files in blobs/ (a copy in progress, an editor's backup) are not blobs.
func TestWalkSkipsStrays(t *testing.T) {
	root := t.TempDir()
	d := open(t, root)
	_, err := storage.Put(t.Context(), d, digest.FromString("real"), strings.NewReader("real"))
	require.NoError(t, err)

	enc := digest.FromString("other").Encoded()
	prefix := filepath.Join(root, "blobs", "sha256", enc[:2])
	require.NoError(t, os.MkdirAll(prefix, 0o750))
	for _, name := range []string{enc + ".tmp", "." + enc, enc[:10], digest.FromString("x").Encoded()} {
		require.NoError(t, os.WriteFile(filepath.Join(prefix, name), []byte("junk"), 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(prefix, enc), 0o750))

	var seen []digest.Digest
	require.NoError(t, d.Walk(t.Context(), func(dgst digest.Digest, _ int64) error {
		seen = append(seen, dgst)
		return nil
	}))
	assert.Equal(t, []digest.Digest{digest.FromString("real")}, seen)
}

// Open hands back the *os.File itself so net/http can sendfile it and serve
// Range requests from it.
func TestOpenServesRanges(t *testing.T) {
	d := open(t, t.TempDir())
	content := "0123456789"
	dgst := digest.FromString(content)
	_, err := storage.Put(t.Context(), d, dgst, strings.NewReader(content))
	require.NoError(t, err)

	rc, err := d.Open(t.Context(), dgst)
	require.NoError(t, err)
	defer rc.Close()
	require.IsType(t, &os.File{}, rc)

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Range", "bytes=3-5")
	rec := httptest.NewRecorder()
	http.ServeContent(rec, req, "", time.Time{}, rc)
	assert.Equal(t, http.StatusPartialContent, rec.Code)
	assert.Equal(t, "345", rec.Body.String())
}

func TestResumeCorruptState(t *testing.T) {
	root := t.TempDir()
	d := open(t, root)
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "uploads", up.ID(), "state"), []byte("{"), 0o600))

	_, err = d.ResumeUpload(t.Context(), up.ID())
	require.ErrorContains(t, err, "corrupt state")
}
