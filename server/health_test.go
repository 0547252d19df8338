package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/memory"
)

// flakyStore is a blob store that can stop answering.
type flakyStore struct {
	storage.Driver
	down bool
}

func (s *flakyStore) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	if s.down {
		return 0, errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")
	}
	return s.Driver.Stat(ctx, d)
}

// /healthz is a readiness check: 503 while the blob store does not answer,
// so a load balancer sends requests to the nodes that can serve them;
// /livez (liveness) stays 200.
func TestHealthzChecksTheBlobStore(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	store := &flakyStore{Driver: memory.New()}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Auth, cfg.ExternalURL = "", false, "http://127.0.0.1:1"
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled = false, false, false
	s, err := New(t.Context(), cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithStorage(store), WithDatabase(db))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return w
	}
	live := func() int {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/livez", nil))
		return w.Code
	}
	assert.Equal(t, http.StatusOK, get().Code)
	store.down = true
	w := get()
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Contains(t, w.Body.String(), "blob storage unavailable")
	assert.Equal(t, http.StatusOK, live(), "/livez asks no dependency: an unready node is not restarted")
	store.down = false
	assert.Equal(t, http.StatusOK, get().Code)
}
