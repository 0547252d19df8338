package registry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/memory"
)

// While PostgreSQL is down, requests are answered 503 with Retry-After
// (the client comes back), not 500; once it is back the registry serves
// again without a restart, and what was acknowledged before is there.
func TestDatabaseOutageIsUnavailableThenRecovers(t *testing.T) {
	srv := pgtest.Start(t)
	db, err := sqldb.OpenPostgres(t.Context(), srv.Database(t)+"&connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	rg, err := New(t.Context(), memory.New(), db, WithLogger(slog.New(slog.NewTextHandler(testLog(t), nil))))
	require.NoError(t, err)
	hs := httptest.NewServer(rg)
	t.Cleanup(hs.Close)
	tr := &testRegistry{t: t, rg: rg, srv: hs}
	img := tr.pushImage("app", "v1", 1)

	srv.Restart(t, func() {
		for _, path := range []string{"/v2/app/manifests/v1", "/v2/app/tags/list", "/v2/_catalog"} {
			r := tr.do(http.MethodGet, path, nil, nil)
			requireError(t, r, http.StatusServiceUnavailable, CodeUnavailable)
			assert.Equal(t, "5", r.Header.Get("Retry-After"), path)
		}
		r := tr.do(http.MethodPost, "/v2/app/blobs/uploads/", nil, nil)
		assert.Equal(t, http.StatusServiceUnavailable, r.Status, "an upload cannot start either")
	})

	r := tr.getManifest("app", "v1")
	require.Equal(t, http.StatusOK, r.Status, "serving again, with no restart")
	assert.Equal(t, img.Manifest, r.Body)
	tr.pushImage("app", "v2", 1)
}

// unreachableStore is a blob store whose network is down: reads fail as
// an S3 client's do when it cannot connect.
type unreachableStore struct {
	storage.Driver
	down bool
}

func (s *unreachableStore) Open(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, error) {
	if s.down {
		return nil, fmt.Errorf("operation error S3: GetObject: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	}
	return s.Driver.Open(ctx, d)
}

// An object store that cannot be reached is unavailable too: 503 with
// Retry-After, and served again once it answers.
func TestObjectStoreOutageIsUnavailable(t *testing.T) {
	store := &unreachableStore{Driver: memory.New()}
	rg, err := New(t.Context(), store, nil, WithLogger(slog.New(slog.NewTextHandler(testLog(t), nil))))
	require.NoError(t, err)
	hs := httptest.NewServer(rg)
	t.Cleanup(hs.Close)
	tr := &testRegistry{t: t, rg: rg, srv: hs}
	content := randomBytes(100)
	d := tr.pushBlob("app", content)
	store.down = true
	r := tr.do(http.MethodGet, "/v2/app/blobs/"+d.String(), nil, nil)
	requireError(t, r, http.StatusServiceUnavailable, CodeUnavailable)
	assert.Equal(t, "5", r.Header.Get("Retry-After"))
	store.down = false
	r = tr.do(http.MethodGet, "/v2/app/blobs/"+d.String(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, content, r.Body)
}
