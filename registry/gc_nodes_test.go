package registry

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/memory"
)

// Two processes over one database and one blob store (scale-out): one
// pushes the same blob again and again while the other collects it as
// garbage. Their digest locks are per process, so only the database
// orders them. Whatever the interleaving, a blob linked to a repository
// has its bytes: a push either lands before a run's judgement (which then
// sees its link) or is refused with 503 and pushed again.
func TestGCAndPushOnTwoNodes(t *testing.T) {
	url := pg.Database(t)
	blobs := memory.New()
	node := func() (*Registry, *httptest.Server) {
		db, err := sqldb.OpenPostgres(t.Context(), url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		rg, err := New(t.Context(), blobs, db, WithLogger(slog.New(slog.NewTextHandler(testLog(t), nil))))
		require.NoError(t, err)
		srv := httptest.NewServer(rg)
		t.Cleanup(srv.Close)
		return rg, srv
	}
	collector, _ := node()
	pusher, srv := node()
	tr := &testRegistry{t: t, rg: pusher, srv: srv}
	content := bytes.Repeat([]byte("layer"), 2000)
	d := digest.FromBytes(content)

	refused, pushed := 0, 0
	for range 60 {
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := collector.CollectGarbage(t.Context(), GCOptions{GraceWindow: -1})
			assert.NoError(t, err)
		})
		r := tr.do(http.MethodPost, "/v2/app/blobs/uploads/?digest="+d.String(), content, hdr("Content-Type", "application/octet-stream"))
		switch r.Status {
		case http.StatusCreated:
			pushed++
		case http.StatusServiceUnavailable:
			refused++
			assert.Equal(t, "5", r.Header.Get("Retry-After"))
		default:
			t.Fatalf("push: %d %s", r.Status, r.Body)
		}
		wg.Wait()

		var links int
		require.NoError(t, pusher.db.QueryRow(t.Context(), `SELECT COUNT(*) FROM registry_repo_blobs WHERE digest = ?`,
			d.String()).Scan(&links))
		if _, err := blobs.Stat(t.Context(), d); links > 0 {
			require.NoError(t, err, "a linked blob lost its bytes")
		} else if err != nil {
			require.ErrorIs(t, err, storage.ErrBlobUnknown)
		}
	}
	t.Logf("%d pushes acknowledged, %d refused while a run removed the blob", pushed, refused)
	assert.Positive(t, pushed)
}
