package chart

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// entry is one file in a generated archive.
type entry struct {
	name string
	body string
	typ  byte
}

// tgz packs entries as a gzip-compressed tar, in order.
func tgz(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hd := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: typ, ModTime: time.Unix(1700000000, 0)}
		if typ != tar.TypeReg {
			hd.Size = 0
			hd.Linkname = e.body
		}
		require.NoError(t, tw.WriteHeader(hd))
		if typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func chartYAML(name, version string) string {
	return fmt.Sprintf(`apiVersion: v2
name: %s
version: %s
appVersion: "1.16.0"
description: A test chart called %s
type: application
icon: https://example.com/icon.png
home: https://example.com
keywords: [test, berth]
sources: [https://example.com/src]
maintainers:
  - name: Ada
    email: ada@example.com
`, name, version, name)
}

// chartDir writes a small, renderable chart into a temporary directory.
func chartDir(t testing.TB, name, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	files := map[string]string{
		"Chart.yaml":               chartYAML(name, version),
		"values.yaml":              "greeting: hello\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
	}
	for p, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644))
	}
	return dir
}

// pack archives a chart directory as `helm package` does: every file under
// <chart name>/.
func pack(t testing.TB, dir string) []byte {
	t.Helper()
	var entries []entry
	base := filepath.Base(dir)
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		entries = append(entries, entry{name: base + "/" + filepath.ToSlash(rel), body: string(b)})
		return err
	}))
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return tgz(t, entries...)
}

// makeChart is a packaged chart called name at version.
func makeChart(t testing.TB, name, version string) []byte {
	t.Helper()
	return pack(t, chartDir(t, name, version))
}

// engine is a database a test Repo runs on.
type engine string

const (
	sqliteMemory engine = "sqlite"   // New's private in-memory SQLite (a nil db)
	postgres     engine = "postgres" // a fresh database on the shared PostgreSQL server
)

// testEngines maps the name of each onEngines subtest to its engine.
var testEngines sync.Map

// onEngines runs fn on in-memory SQLite and on PostgreSQL, as subtests
// named after them: newRepo and openDB in fn, or in fn's own subtests,
// open a database of that engine.
func onEngines(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, e := range []engine{sqliteMemory, postgres} {
		t.Run(string(e), func(t *testing.T) {
			testEngines.Store(t.Name(), e)
			t.Cleanup(func() { testEngines.Delete(t.Name()) })
			fn(t)
		})
	}
}

// engineOf is the engine of t's closest onEngines subtest, or in-memory
// SQLite.
func engineOf(t testing.TB) engine {
	for name := t.Name(); ; {
		if e, ok := testEngines.Load(name); ok {
			return e.(engine)
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return sqliteMemory
		}
		name = name[:i]
	}
}

// openDB opens a database of t's engine, closed when t ends.
func openDB(t testing.TB) *sqldb.DB {
	t.Helper()
	var db *sqldb.DB
	var err error
	if engineOf(t) == postgres {
		db, err = sqldb.OpenPostgres(context.Background(), pg.Database(t))
	} else {
		db, err = sqldb.OpenSQLiteMemory(context.Background())
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newRepo is a Repo over a memory blob store and a database of t's engine.
func newRepo(t testing.TB, opts ...Option) (*Repo, *memory.Driver) {
	t.Helper()
	blobs := memory.New()
	r, err := New(context.Background(), blobs, openDB(t), opts...)
	require.NoError(t, err)
	return r, blobs
}

// blobCount counts stored blobs.
func blobCount(t testing.TB, d *memory.Driver) int {
	t.Helper()
	n := 0
	require.NoError(t, d.Walk(context.Background(), func(digest.Digest, int64) error { n++; return nil }))
	return n
}

// serve starts the handler on a test server.
func serve(t testing.TB, r *Repo, access Access) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(r.Handler(access))
	t.Cleanup(srv.Close)
	return srv
}

func do(t testing.TB, method, url, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out bytes.Buffer
	_, err = out.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp, out.Bytes()
}
