package chart

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// indexShape is index.yaml as a client reads it.
type indexShape struct {
	APIVersion string `json:"apiVersion"`
	Generated  string `json:"generated"`
	Entries    map[string][]struct {
		Name       string   `json:"name"`
		Version    string   `json:"version"`
		AppVersion string   `json:"appVersion"`
		APIVersion string   `json:"apiVersion"`
		URLs       []string `json:"urls"`
		Digest     string   `json:"digest"`
		Created    string   `json:"created"`
	} `json:"entries"`
}

func parseIndex(t testing.TB, b []byte) indexShape {
	t.Helper()
	var idx indexShape
	require.NoError(t, yaml.Unmarshal(b, &idx), string(b))
	return idx
}

func TestIndexShapeAndOrder(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		r, _ := newRepo(t)
		versions := []string{"1.0.0", "1.10.0", "2.0.0-rc.1", "1.2.0", "2.0.0", "0.9.9"}
		digests := map[string]string{}
		for _, v := range versions {
			got, err := r.Upload(ctx, "p", bytes.NewReader(makeChart(t, "web", v)), nil, false)
			require.NoError(t, err)
			digests[v] = got.Digest
		}
		_, err := r.Upload(ctx, "p", bytes.NewReader(makeChart(t, "db", "3.0.0")), nil, false)
		require.NoError(t, err)

		b, err := r.Index(ctx, "p")
		require.NoError(t, err)
		idx := parseIndex(t, b)
		assert.Equal(t, "v1", idx.APIVersion)
		_, err = time.Parse(time.RFC3339Nano, idx.Generated)
		require.NoError(t, err)
		require.Len(t, idx.Entries, 2)
		var order []string
		for _, e := range idx.Entries["web"] {
			order = append(order, e.Version)
			assert.Equal(t, "web", e.Name)
			assert.Equal(t, "1.16.0", e.AppVersion)
			assert.Equal(t, "v2", e.APIVersion)
			assert.Equal(t, []string{"charts/web-" + e.Version + ".tgz"}, e.URLs)
			assert.Equal(t, digests[e.Version], e.Digest)
			assert.Len(t, e.Digest, 64)
			_, err := time.Parse(time.RFC3339Nano, e.Created)
			assert.NoError(t, err)
		}
		assert.Equal(t, []string{"2.0.0", "2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0", "0.9.9"}, order)

		empty, err := r.Index(ctx, "nothing-here")
		require.NoError(t, err)
		assert.Empty(t, parseIndex(t, empty).Entries)
	})
}

func TestIndexCacheInvalidation(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		r, _ := newRepo(t)
		_, err := r.Upload(ctx, "p", bytes.NewReader(makeChart(t, "a", "1.0.0")), nil, false)
		require.NoError(t, err)
		first, err := r.Index(ctx, "p")
		require.NoError(t, err)
		again, err := r.Index(ctx, "p")
		require.NoError(t, err)
		assert.Same(t, &first[0], &again[0], "cached bytes are reused")

		_, err = r.Upload(ctx, "p", bytes.NewReader(makeChart(t, "a", "1.1.0")), nil, false)
		require.NoError(t, err)
		afterUpload, err := r.Index(ctx, "p")
		require.NoError(t, err)
		assert.Len(t, parseIndex(t, afterUpload).Entries["a"], 2)

		require.NoError(t, r.Delete(ctx, "p", "a", "1.0.0"))
		afterDelete, err := r.Index(ctx, "p")
		require.NoError(t, err)
		assert.Len(t, parseIndex(t, afterDelete).Entries["a"], 1)

		// Another Repo on the same database (another process in scale-out)
		// sees the change through the generation, not a stale cache.
		other, err := New(ctx, r.blobs, r.db)
		require.NoError(t, err)
		_, err = other.Upload(ctx, "p", bytes.NewReader(makeChart(t, "a", "1.2.0")), nil, false)
		require.NoError(t, err)
		fresh, err := r.Index(ctx, "p")
		require.NoError(t, err)
		assert.Len(t, parseIndex(t, fresh).Entries["a"], 2)
	})
}

// upload200 stores 200 versions of one chart.
func upload200(t testing.TB, r *Repo) {
	t.Helper()
	ctx := context.Background()
	for i := range 200 {
		v := fmt.Sprintf("%d.%d.%d", i/100, (i/10)%10, i%10)
		_, err := r.Upload(ctx, "bench", bytes.NewReader(makeChart(t, "many", v)), nil, false)
		require.NoError(t, err)
	}
}

// On SQLite only: a test of rendering at size, whose SQL
// TestIndexShapeAndOrder runs on both engines.
func TestIndex200Versions(t *testing.T) {
	r, _ := newRepo(t)
	upload200(t, r)
	b, err := r.Index(context.Background(), "bench")
	require.NoError(t, err)
	idx := parseIndex(t, b)
	require.Len(t, idx.Entries["many"], 200)
	assert.Equal(t, "1.9.9", idx.Entries["many"][0].Version)
	assert.Equal(t, "0.0.0", idx.Entries["many"][199].Version)
	t.Logf("index.yaml with 200 versions: %d bytes", len(b))
	assert.Less(t, len(b), 400<<10)
}

func BenchmarkIndex(b *testing.B) {
	r, _ := newRepo(b)
	upload200(b, r)
	ctx := context.Background()
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Index(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.mu.Lock()
			clear(r.cache)
			r.mu.Unlock()
			if _, err := r.Index(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		srv := serve(b, r, AllowAll)
		b.ReportAllocs()
		for b.Loop() {
			resp, body := do(b, "GET", srv.URL+"/chartrepo/bench/index.yaml", "", nil)
			if resp.StatusCode != 200 || len(body) == 0 {
				b.Fatal(resp.Status)
			}
		}
	})
}
