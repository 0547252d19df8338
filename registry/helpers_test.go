package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// testRegistry is a registry over the memory driver and a fresh database
// of its test's engine (see onEngines), served by an httptest server.
type testRegistry struct {
	t   *testing.T
	rg  *Registry
	srv *httptest.Server
}

// newTestRegistry starts a registry with opts on the engine of t (private
// in-memory SQLite unless t runs under onEngines); it is shut down when
// the test ends.
func newTestRegistry(t *testing.T, opts ...Option) *testRegistry {
	t.Helper()
	db := openEngine(t, engineOf(t))
	opts = append([]Option{WithLogger(slog.New(slog.NewTextHandler(testLog(t), nil)))}, opts...)
	rg, err := New(t.Context(), memory.New(), db, opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(rg)
	t.Cleanup(srv.Close)
	return &testRegistry{t: t, rg: rg, srv: srv}
}

// engine is a database a test registry runs on.
type engine string

const (
	sqliteMemory engine = "sqlite"   // New's private in-memory SQLite (a nil db)
	sqliteFile   engine = "file"     // a SQLite file: separate reader and writer pools
	postgres     engine = "postgres" // a fresh database on the shared PostgreSQL server
)

// engines are those onEngines runs each test on.
var engines = []engine{sqliteMemory, postgres}

// testEngines maps the name of each onEngines subtest to its engine.
var testEngines sync.Map

// onEngines runs fn once on each engine, as subtests named after them:
// newTestRegistry in fn, or in fn's own subtests, opens its registry on
// that engine, in a database of its own.
func onEngines(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, e := range engines {
		onEngine(t, e, fn)
	}
}

// onEveryEngine is onEngines with a SQLite file as well, which reads
// through a pool of its own as the server's database does, for the tests
// of what the registry keeps in SQL.
func onEveryEngine(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, e := range append(slices.Clip(engines), sqliteFile) {
		onEngine(t, e, fn)
	}
}

// onEngine runs fn on one engine, as a subtest named after it.
func onEngine(t *testing.T, e engine, fn func(t *testing.T)) {
	t.Helper()
	t.Run(string(e), func(t *testing.T) {
		testEngines.Store(t.Name(), e)
		t.Cleanup(func() { testEngines.Delete(t.Name()) })
		fn(t)
	})
}

// engineOf is the engine of t's closest onEngines subtest, or in-memory
// SQLite.
func engineOf(t *testing.T) engine {
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

// openEngine opens a fresh database of engine for t, closed when t ends;
// nil for in-memory SQLite, which New opens itself.
func openEngine(t *testing.T, e engine) *sqldb.DB {
	t.Helper()
	var db *sqldb.DB
	var err error
	switch e {
	case sqliteMemory:
		return nil
	case sqliteFile:
		db, err = sqldb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
	case postgres:
		db, err = sqldb.OpenPostgres(t.Context(), pg.Database(t))
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openDB is openEngine that opens in-memory SQLite too.
func openDB(t *testing.T, e engine) *sqldb.DB {
	t.Helper()
	if e != sqliteMemory {
		return openEngine(t, e)
	}
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// testLog is t's output until t's cleanup begins, and then nothing: the
// registry writes pull times in the background when its context ends,
// and may log about them after the test has completed.
func testLog(t *testing.T) io.Writer {
	l := &quietingWriter{w: t.Output()}
	t.Cleanup(func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

type quietingWriter struct {
	mu   sync.Mutex
	w    io.Writer
	done bool
}

func (q *quietingWriter) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done {
		return len(p), nil
	}
	return q.w.Write(p)
}

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorCodes decodes the spec's error body and returns its codes.
func (r *response) errorCodes(t *testing.T) []string {
	t.Helper()
	var body errorBody
	require.NoError(t, json.Unmarshal(r.Body, &body), "error body: %q", r.Body)
	codes := make([]string, len(body.Errors))
	for i, e := range body.Errors {
		codes[i] = e.Code
	}
	return codes
}

// requireError asserts the status and the single error code of a response.
func requireError(t *testing.T, r *response, status int, code string) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.Equal(t, []string{code}, r.errorCodes(t))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
}

// hdr builds a header from key, value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// do sends a request to the test server and reads the whole response. A nil
// body sends no body; path may carry a query.
func (tr *testRegistry) do(method, path string, body []byte, h http.Header) *response {
	tr.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(tr.t.Context(), method, tr.srv.URL+path, rd)
	require.NoError(tr.t, err)
	for k, vs := range h {
		req.Header[k] = vs
	}
	return tr.send(req)
}

// send performs req and reads the whole response.
func (tr *testRegistry) send(req *http.Request) *response {
	tr.t.Helper()
	resp, err := tr.srv.Client().Do(req)
	require.NoError(tr.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tr.t, err)
	require.NotEqual(tr.t, http.StatusInternalServerError, resp.StatusCode, "body: %s", b)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// serve runs a request through the handler with a recorder, for requests a
// real client cannot send or that must not touch the network.
func (tr *testRegistry) serve(req *http.Request) *response {
	tr.t.Helper()
	rec := httptest.NewRecorder()
	tr.rg.ServeHTTP(rec, req)
	return &response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// pushBlob uploads content monolithically (POST ?digest=) to repo.
func (tr *testRegistry) pushBlob(repo string, content []byte) digest.Digest {
	tr.t.Helper()
	d := digest.FromBytes(content)
	r := tr.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), content,
		hdr("Content-Type", "application/octet-stream"))
	require.Equal(tr.t, http.StatusCreated, r.Status, "push blob: %s", r.Body)
	require.Equal(tr.t, d.String(), r.Header.Get("Docker-Content-Digest"))
	return d
}

// putManifest PUTs a manifest body with a Content-Type and returns the
// response, whatever it is.
func (tr *testRegistry) putManifest(repo, ref, mediaType string, body []byte) *response {
	tr.t.Helper()
	h := http.Header{}
	if mediaType != "" {
		h.Set("Content-Type", mediaType)
	}
	return tr.do(http.MethodPut, "/v2/"+repo+"/manifests/"+ref, body, h)
}

// pushManifest PUTs a manifest and requires 201; it returns the digest.
func (tr *testRegistry) pushManifest(repo, ref, mediaType string, body []byte) digest.Digest {
	tr.t.Helper()
	r := tr.putManifest(repo, ref, mediaType, body)
	require.Equal(tr.t, http.StatusCreated, r.Status, "push manifest: %s", r.Body)
	d := digest.FromBytes(body)
	if strings.HasPrefix(ref, "sha512:") {
		d = digest.SHA512.FromBytes(body)
	}
	require.Equal(tr.t, d.String(), r.Header.Get("Docker-Content-Digest"))
	return d
}

// getManifest GETs a manifest with a broad Accept header.
func (tr *testRegistry) getManifest(repo, ref string) *response {
	tr.t.Helper()
	return tr.do(http.MethodGet, "/v2/"+repo+"/manifests/"+ref, nil, hdr("Accept", strings.Join([]string{
		MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList}, ", ")))
}

// tagList returns a repository's tags (nil when the repository is unknown).
func (tr *testRegistry) tagList(repo string) []string {
	tr.t.Helper()
	r := tr.do(http.MethodGet, "/v2/"+repo+"/tags/list", nil, nil)
	if r.Status == http.StatusNotFound {
		requireError(tr.t, r, http.StatusNotFound, CodeNameUnknown)
		return nil
	}
	require.Equal(tr.t, http.StatusOK, r.Status, "tags: %s", r.Body)
	var tl struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	require.NoError(tr.t, json.Unmarshal(r.Body, &tl))
	require.Equal(tr.t, repo, tl.Name)
	return tl.Tags
}

// requireNoManifest asserts ref is not retrievable in repo.
func (tr *testRegistry) requireNoManifest(repo, ref string) {
	tr.t.Helper()
	r := tr.do(http.MethodHead, "/v2/"+repo+"/manifests/"+ref, nil, nil)
	require.Equal(tr.t, http.StatusNotFound, r.Status, "manifest %s@%s should not exist", repo, ref)
}

// requireNoBlob asserts d is not readable in repo.
func (tr *testRegistry) requireNoBlob(repo string, d digest.Digest) {
	tr.t.Helper()
	r := tr.do(http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), nil, nil)
	requireError(tr.t, r, http.StatusNotFound, CodeBlobUnknown)
}

// testImage is an OCI image built from random content.
type testImage struct {
	Config   []byte
	Layers   [][]byte
	Manifest []byte
	Digest   digest.Digest
}

// descriptorOf describes content with a media type.
func descriptorOf(mediaType string, content []byte) v1.Descriptor {
	return v1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(content), Size: int64(len(content))}
}

// mustJSON marshals v.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// randomImage builds an image manifest with a config and n random layers.
// edit, if given, may change the manifest before it is serialised.
func randomImage(t *testing.T, n int, edit ...func(*v1.Manifest)) testImage {
	t.Helper()
	img := testImage{Config: mustJSON(t, map[string]any{
		"architecture": "amd64", "os": "linux", "nonce": rand.Text(),
	})}
	m := v1.Manifest{
		MediaType: v1.MediaTypeImageManifest,
		Config:    descriptorOf(v1.MediaTypeImageConfig, img.Config),
		Layers:    []v1.Descriptor{},
	}
	m.SchemaVersion = 2
	for range n {
		l := randomBytes(256)
		img.Layers = append(img.Layers, l)
		m.Layers = append(m.Layers, descriptorOf(v1.MediaTypeImageLayerGzip, l))
	}
	for _, f := range edit {
		f(&m)
	}
	img.Manifest = mustJSON(t, m)
	img.Digest = digest.FromBytes(img.Manifest)
	return img
}

// pushImageBlobs uploads an image's config and layers to repo.
func (tr *testRegistry) pushImageBlobs(repo string, img testImage) {
	tr.t.Helper()
	tr.pushBlob(repo, img.Config)
	for _, l := range img.Layers {
		tr.pushBlob(repo, l)
	}
}

// pushImage uploads a random image with n layers to repo under ref (a tag or
// "" for by-digest) and returns it.
func (tr *testRegistry) pushImage(repo, ref string, n int, edit ...func(*v1.Manifest)) testImage {
	tr.t.Helper()
	img := randomImage(tr.t, n, edit...)
	tr.pushImageBlobs(repo, img)
	if ref == "" {
		ref = img.Digest.String()
	}
	tr.pushManifest(repo, ref, v1.MediaTypeImageManifest, img.Manifest)
	return img
}

// indexOf builds an OCI index over manifests pushed with their media types.
func indexOf(t *testing.T, mediaType string, children ...v1.Descriptor) []byte {
	t.Helper()
	idx := v1.Index{MediaType: mediaType, Manifests: children}
	idx.SchemaVersion = 2
	return mustJSON(t, idx)
}

// recordedEvents collects events from an EventSink.
type recordedEvents struct {
	ch chan Event
}

func newRecordedEvents() *recordedEvents { return &recordedEvents{ch: make(chan Event, 100)} }

func (r *recordedEvents) Emit(_ context.Context, e Event) { r.ch <- e }

// drain returns the events received so far.
func (r *recordedEvents) drain() []Event {
	var out []Event
	for {
		select {
		case e := <-r.ch:
			out = append(out, e)
		default:
			return out
		}
	}
}
