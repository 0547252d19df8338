package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/internal/s3test"
	"github.com/berthlabs/berth/internal/testtool"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/filesystem"
	"github.com/berthlabs/berth/storage/s3"
)

// cmdTimeout bounds every client invocation.
const cmdTimeout = 2 * time.Minute

func requireTool(t *testing.T, name string) string { return testtool.Require(t, name) }

// eventLog records the registry's events.
type eventLog struct {
	mu     sync.Mutex
	events []registry.Event
}

func (l *eventLog) Emit(_ context.Context, e registry.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// match returns the recorded events for which keep is true.
func (l *eventLog) match(keep func(registry.Event) bool) []registry.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []registry.Event
	for _, e := range l.events {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// berth is a registry served over plain HTTP on 127.0.0.1, backed by the
// filesystem driver and a SQLite file, both in one data directory, or by
// PostgreSQL and S3 as a scale-out node.
type berth struct {
	host   string // 127.0.0.1:port
	url    string // http://127.0.0.1:port
	events *eventLog
	stop   func()        // stops the server and closes the database; idempotent
	reopen func() *berth // serves the same data again, as a restarted server would
}

func startBerth(t *testing.T) *berth {
	t.Helper()
	return startBerthAt(t, t.TempDir())
}

// onStores runs fn on the embedded store (a data directory) and on a
// scale-out node's (PostgreSQL and versitygw), as subtests.
func onStores(t *testing.T, fn func(t *testing.T, start func(t *testing.T) *berth)) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		fn(t, startBerth)
	})
	t.Run("scaleout", func(t *testing.T) {
		t.Parallel()
		fn(t, startScaleOutBerth)
	})
}

// startBerthAt serves a registry over the data in dir, as a restarted
// server would.
func startBerthAt(t *testing.T, dir string) *berth {
	t.Helper()
	drv, err := filesystem.New(filepath.Join(dir, "blobs"))
	require.NoError(t, err)
	db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(dir, "berth.db"))
	require.NoError(t, err)
	b := serveBerth(t, drv, db)
	b.reopen = func() *berth { return startBerthAt(t, dir) }
	return b
}

// startScaleOutBerth serves a registry over a PostgreSQL database and an
// S3 bucket of its own.
func startScaleOutBerth(t *testing.T) *berth {
	t.Helper()
	pgURL, srv := pgtest.Start(t).Database(t), s3test.Start(t)
	var open func() *berth
	open = func() *berth {
		drv, err := s3.New(t.Context(), srv.Bucket, s3.WithEndpoint(srv.URL), s3.WithRegion(srv.Region),
			s3.WithCredentials(srv.AccessKey, srv.SecretKey), s3.WithPathStyle())
		require.NoError(t, err)
		db, err := sqldb.OpenPostgres(t.Context(), pgURL)
		require.NoError(t, err)
		b := serveBerth(t, drv, db)
		b.reopen = open
		return b
	}
	return open()
}

// serveBerth serves a registry over drv and db, closing db when stopped.
func serveBerth(t *testing.T, drv storage.Driver, db *sqldb.DB) *berth {
	t.Helper()
	ctx := t.Context()
	log := &eventLog{}
	rg, err := registry.New(ctx, drv, db, registry.WithEventSink(log))
	if err != nil {
		_ = db.Close()
	}
	require.NoError(t, err)
	srv := httptest.NewServer(rg)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Close()
			require.NoError(t, db.Close())
		})
	}
	t.Cleanup(stop)
	return &berth{host: strings.TrimPrefix(srv.URL, "http://"), url: srv.URL, events: log, stop: stop}
}

// clientEnv is a minimal environment for a CLI: an empty HOME and config
// directories, so no credentials, policies or registry mirrors of the
// machine are used.
func clientEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	for _, d := range []string{".config", ".docker", "run", "tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(home, d), 0o700))
	}
	regConf := filepath.Join(home, "registries.conf")
	require.NoError(t, os.WriteFile(regConf, []byte("unqualified-search-registries = []\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte("{}\n"), 0o600))
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR=" + filepath.Join(home, "run"),
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"REGISTRY_AUTH_FILE=" + filepath.Join(home, "auth.json"),
		"CONTAINERS_REGISTRIES_CONF=" + regConf,
		"TMPDIR=" + filepath.Join(home, "tmp"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		// containers/image keeps its blob-info cache in
		// /var/lib/containers/cache when run as root; claiming a rootless
		// UID moves it under XDG_DATA_HOME, inside the temporary HOME.
		"_CONTAINERS_ROOTLESS_UID=1000",
	}
}

// runResult is a finished command.
type runResult struct {
	stdout, stderr []byte
	err            error
}

func (r runResult) combined() string {
	return fmt.Sprintf("--- stdout ---\n%s\n--- stderr ---\n%s", r.stdout, r.stderr)
}

// exec runs bin with args in dir (may be empty) under env.
func execTool(t *testing.T, env []string, dir, bin string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timeout %s)", err, cmdTimeout)
	}
	return runResult{stdout: stdout.Bytes(), stderr: stderr.Bytes(), err: err}
}

// run runs a command that must succeed and returns its stdout.
func run(t *testing.T, env []string, dir, bin string, args ...string) []byte {
	t.Helper()
	res := execTool(t, env, dir, bin, args...)
	if res.err != nil {
		t.Fatalf("command failed: %s %s\nerror: %v\n%s", bin, strings.Join(args, " "), res.err, res.combined())
	}
	return res.stdout
}

// runFail runs a command that must fail and returns its combined output.
func runFail(t *testing.T, env []string, dir, bin string, args ...string) string {
	t.Helper()
	res := execTool(t, env, dir, bin, args...)
	if res.err == nil {
		t.Fatalf("command unexpectedly succeeded: %s %s\n%s", bin, strings.Join(args, " "), res.combined())
	}
	return res.combined()
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// randomOCIImage is an OCI image for a platform with n random gzip layers.
func randomOCIImage(t *testing.T, p v1.Platform, layers int) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i := range layers {
		l, err := random.Layer(int64(512+1024*i), types.OCILayer)
		require.NoError(t, err)
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: fmt.Sprintf("e2e layer %d", i)}})
		require.NoError(t, err)
	}
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return img
}

// httpGet fetches url and returns the response with its body read.
func httpGet(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// tagList returns the repository's tags via the distribution API.
func tagList(t *testing.T, b *berth, repo string) []string {
	t.Helper()
	resp, body := httpGet(t, b.url+"/v2/"+repo+"/tags/list", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "tags/list of %s: %s", repo, body)
	var tl struct {
		Tags []string `json:"tags"`
	}
	require.NoError(t, json.Unmarshal(body, &tl))
	return tl.Tags
}
