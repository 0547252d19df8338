package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bundleOf builds a bundle: the manifest m, then files in order.
func bundleOf(t testing.TB, m BundleManifest, files ...entry) []byte {
	t.Helper()
	body, err := json.Marshal(m)
	require.NoError(t, err)
	return tgz(t, append([]entry{{name: BundleManifestName, body: string(body)}}, files...)...)
}

func bundled(name, version string, archive []byte) BundledChart {
	return BundledChart{Name: name, Version: version, File: bundleFile(name, version),
		Digest: string(sha256Digest(archive)), Size: int64(len(archive))}
}

func TestExportImportRoundTrip(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		s, ring := signer(t)
		src, _ := newRepo(t)
		a1, p1, _ := signed(t, s, "web", "1.0.0")
		a2 := makeChart(t, "web", "1.1.0-rc.1+build.7")
		a3 := makeChart(t, "db", "2.0.0")
		_, err := src.Upload(ctx, "team", bytes.NewReader(a1), bytes.NewReader(p1), false)
		require.NoError(t, err)
		for _, a := range [][]byte{a2, a3} {
			_, err := src.Upload(ctx, "team", bytes.NewReader(a), nil, false)
			require.NoError(t, err)
		}
		srcSrv := serve(t, src, AllowAll)
		resp, bundle := do(t, "GET", srcSrv.URL+"/api/chartrepo/team/export", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(bundle))
		assert.Equal(t, "application/gzip", resp.Header.Get("Content-Type"))

		events := &recordSink{}
		dst, _ := newRepo(t, WithKeyring(ring), WithEventSink(events))
		dstSrv := serve(t, dst, AllowAll)
		resp, body := do(t, "POST", dstSrv.URL+"/api/chartrepo/copy/import", "application/gzip", bundle)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		var res ImportResult
		require.NoError(t, json.Unmarshal(body, &res))
		assert.Len(t, res.Imported, 3)
		assert.Empty(t, res.Skipped)
		assert.Len(t, events.events, 3, "each imported version is an upload event")

		// Byte-identical archives and provenance file.
		for file, want := range map[string][]byte{"web-1.0.0.tgz": a1, "web-1.0.0.tgz.prov": p1,
			"web-1.1.0-rc.1+build.7.tgz": a2, "db-2.0.0.tgz": a3} {
			resp, got := do(t, "GET", dstSrv.URL+"/chartrepo/copy/charts/"+file, "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, file)
			assert.Equal(t, want, got, file)
		}

		// Importing again changes nothing.
		resp, body = do(t, "POST", dstSrv.URL+"/api/chartrepo/copy/import", "application/gzip", bundle)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		require.NoError(t, json.Unmarshal(body, &res))
		assert.Empty(t, res.Imported)
		assert.Len(t, res.Skipped, 3)
		assert.Len(t, events.events, 3)

		// Another archive under an imported version: the whole bundle is
		// refused and nothing of it stored.
		_, err = dst.Upload(ctx, "copy", bytes.NewReader(tgz(t, entry{name: "db/Chart.yaml",
			body: chartYAML("db", "2.0.0") + "deprecated: true\n"})), nil, true)
		require.NoError(t, err)
		other, _ := newRepo(t)
		for _, a := range [][]byte{a3, makeChart(t, "new", "0.1.0")} {
			_, err := other.Upload(ctx, "team", bytes.NewReader(a), nil, false)
			require.NoError(t, err)
		}
		var b2 bytes.Buffer
		require.NoError(t, other.Export(ctx, "team", &b2))
		resp, body = do(t, "POST", dstSrv.URL+"/api/chartrepo/copy/import", "application/gzip", b2.Bytes())
		assert.Equal(t, http.StatusConflict, resp.StatusCode, string(body))
		_, err = dst.Get(ctx, "copy", "new", "0.1.0")
		assert.ErrorIs(t, err, ErrNotFound, "a refused bundle stores nothing")
	})
}

func TestImportHostileBundles(t *testing.T) {
	ctx := context.Background()
	good := makeChart(t, "app", "1.0.0")
	evil := makeChart(t, "evil", "6.6.6")
	gc := bundled("app", "1.0.0", good)
	manifest := func(cs ...BundledChart) BundleManifest {
		return BundleManifest{Format: BundleFormat, Project: "p", Created: time.Now(), Charts: cs}
	}
	traversal := gc
	traversal.File = "../../etc/app-1.0.0.tgz"
	wrong := gc
	wrong.Digest = string(sha256Digest([]byte("something else")))
	huge := gc
	huge.Size = DefaultMaxArchiveSize + 1
	mismatch := bundled("app", "2.0.0", good) // holds app 1.0.0

	cases := []struct {
		name   string
		bundle []byte
		status int
	}{
		{"not gzip", []byte("PK\x03\x04 zip"), http.StatusBadRequest},
		{"no manifest first", tgz(t, entry{name: gc.File, body: string(good)}), http.StatusBadRequest},
		{"path traversal in the manifest", bundleOf(t, manifest(traversal), entry{name: traversal.File, body: string(good)}), http.StatusBadRequest},
		{"entry the manifest does not name", bundleOf(t, manifest(gc), entry{name: gc.File, body: string(good)},
			entry{name: "../evil-6.6.6.tgz", body: string(evil)}), http.StatusBadRequest},
		{"symlink entry", bundleOf(t, manifest(gc), entry{name: gc.File, body: "/etc/passwd", typ: '2'}), http.StatusBadRequest},
		{"wrong digest", bundleOf(t, manifest(wrong), entry{name: gc.File, body: string(good)}), http.StatusBadRequest},
		{"missing file", bundleOf(t, manifest(gc, bundled("evil", "6.6.6", evil)), entry{name: gc.File, body: string(good)}), http.StatusBadRequest},
		{"archive of another version", bundleOf(t, manifest(mismatch), entry{name: mismatch.File, body: string(good)}), http.StatusBadRequest},
		{"declared size over the archive limit", bundleOf(t, manifest(huge), entry{name: gc.File, body: string(good)}), http.StatusRequestEntityTooLarge},
		{"truncated", bundleOf(t, manifest(gc), entry{name: gc.File, body: string(good)})[:200], http.StatusBadRequest},
	}
	r, blobs := newRepo(t)
	srv := serve(t, r, AllowAll)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, "POST", srv.URL+"/api/chartrepo/p/import", "application/gzip", c.bundle)
			assert.Equal(t, c.status, resp.StatusCode, string(body))
			assert.Contains(t, string(body), `"error"`)
			all, err := r.List(ctx, "p")
			require.NoError(t, err)
			assert.Empty(t, all, "nothing stored")
			assert.Zero(t, blobCount(t, blobs), "no blob stored")
		})
	}

	t.Run("over the bundle limit", func(t *testing.T) {
		small, blobs := newRepo(t, WithMaxBundleSize(int64(len(good))-1))
		srv := serve(t, small, AllowAll)
		resp, body := do(t, "POST", srv.URL+"/api/chartrepo/p/import", "application/gzip",
			bundleOf(t, manifest(gc), entry{name: gc.File, body: string(good)}))
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "declared sizes over the limit: %s", body)

		small, blobs = newRepo(t, WithMaxBundleSize(int64(len(good))))
		srv = serve(t, small, AllowAll)
		big := bundleOf(t, manifest(gc), entry{name: gc.File, body: string(good)})
		big = append(big, bytes.Repeat([]byte{0}, 64<<10+int(maxBundleManifest))...)
		resp, body = do(t, "POST", srv.URL+"/api/chartrepo/p/import", "application/gzip", big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "a body over the limit: %s", body)
		assert.Zero(t, blobCount(t, blobs))
	})
	t.Run("not gzip content type", func(t *testing.T) {
		resp, _ := do(t, "POST", srv.URL+"/api/chartrepo/p/import", "application/json", []byte("{}"))
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	})
	t.Run("valid bundle imports", func(t *testing.T) {
		resp, body := do(t, "POST", srv.URL+"/api/chartrepo/p/import", "application/gzip",
			bundleOf(t, manifest(gc), entry{name: gc.File, body: string(good)}))
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		v, err := r.Get(ctx, "p", "app", "1.0.0")
		require.NoError(t, err)
		assert.Equal(t, gc.Digest, string(digest.NewDigestFromEncoded(digest.SHA256, v.Digest)))
	})
}

func TestExportImportAccess(t *testing.T) {
	r, _ := newRepo(t)
	var asked []string
	srv := serve(t, r, AccessFunc(func(_ *http.Request, project, action string) (bool, int, string) {
		asked = append(asked, action)
		return false, http.StatusForbidden, "no"
	}))
	resp, _ := do(t, "GET", srv.URL+"/api/chartrepo/p/export", "", nil)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	resp, _ = do(t, "POST", srv.URL+"/api/chartrepo/p/import", "application/gzip", []byte("x"))
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, []string{ActionExport, ActionImport}, asked)
}
