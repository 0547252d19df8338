package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

// liveRegistry is a server serving from a data directory over HTTP.
type liveRegistry struct {
	dir, host string
	srv       *Server
	hs        *httptest.Server
}

const backupTestPassword = "admin-password-1"

func startLive(t *testing.T, dir string) *liveRegistry {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = dir, backupTestPassword, "http://"+hs.Listener.Addr().String()
	cfg.Scan.Enabled, cfg.Trust.Enabled = false, false
	srv, err := New(t.Context(), cfg, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	l := &liveRegistry{dir: dir, host: hs.Listener.Addr().String(), srv: srv, hs: hs}
	t.Cleanup(l.stop)
	return l
}

func (l *liveRegistry) stop() {
	if l.hs != nil {
		l.hs.Close()
		_ = l.srv.Close(context.Background())
		l.hs = nil
	}
}

func (l *liveRegistry) ref(t *testing.T, repo string) name.Reference {
	ref, err := name.NewTag(l.host+"/library/"+repo+":v1", name.Insecure)
	require.NoError(t, err)
	return ref
}

var adminAuth = remote.WithAuth(&authn.Basic{Username: "admin", Password: backupTestPassword})

// push writes a random image of layers layers to library/repo:v1.
func (l *liveRegistry) push(t *testing.T, repo string, layers int) v1.Image {
	img, err := random.Image(2048, int64(layers))
	require.NoError(t, err)
	require.NoError(t, remote.Write(l.ref(t, repo), img, adminAuth))
	return img
}

// assertSame pulls library/repo:v1 and compares it with img byte for byte.
func (l *liveRegistry) assertSame(t *testing.T, repo string, img v1.Image) {
	t.Helper()
	got, err := remote.Image(l.ref(t, repo), adminAuth)
	require.NoError(t, err, repo)
	wantRaw, err := img.RawManifest()
	require.NoError(t, err)
	gotRaw, err := got.RawManifest()
	require.NoError(t, err)
	assert.Equal(t, wantRaw, gotRaw, repo)
	wantLayers, err := img.Layers()
	require.NoError(t, err)
	gotLayers, err := got.Layers()
	require.NoError(t, err)
	require.Len(t, gotLayers, len(wantLayers))
	for i := range wantLayers {
		assert.Equal(t, readLayer(t, wantLayers[i]), readLayer(t, gotLayers[i]), "%s layer %d", repo, i)
	}
}

func readLayer(t *testing.T, l v1.Layer) []byte {
	rc, err := l.Compressed()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func checkDir(t *testing.T, dir string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = dir
	var out bytes.Buffer
	ok, err := Check(t.Context(), cfg, false, &out, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.True(t, ok, out.String())
}

func backupOf(t *testing.T, dataDir, to string, opts ...BackupOption) BackupReport {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = dataDir
	rep, err := Backup(t.Context(), cfg, to, opts...)
	require.NoError(t, err)
	return rep
}

// A backup taken while the server serves and pushes go on restores into
// a data directory that passes Check, keeps the keys private and serves
// every image pushed before the backup, byte for byte.
func TestBackupWhileServingRestores(t *testing.T) {
	live := startLive(t, filepath.Join(t.TempDir(), "data"))
	before := map[string]v1.Image{}
	for i := range 3 {
		before[fmt.Sprintf("app%d", i)] = live.push(t, fmt.Sprintf("app%d", i), 2)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // writes during the backup: the snapshot is consistent whichever it sees
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			img, _ := random.Image(1024, 1)
			_ = remote.Write(live.ref(t, fmt.Sprintf("during%d", i)), img, adminAuth)
		}
	})
	backup := filepath.Join(t.TempDir(), "backup")
	rep := backupOf(t, live.dir, backup)
	close(stop)
	wg.Wait()
	assert.Equal(t, 1, rep.Snapshots)
	assert.GreaterOrEqual(t, rep.Blobs, 3*3, "3 images of 2 layers and a config")
	assert.Equal(t, rep.Blobs, rep.NewBlobs, "the first backup copies everything")
	assert.GreaterOrEqual(t, rep.Files, 2, "secret.key, token.key, initial-admin-password")
	live.stop()

	restored := filepath.Join(t.TempDir(), "restored")
	rrep, err := Restore(t.Context(), backup, restored)
	require.NoError(t, err)
	assert.Equal(t, rep.Blobs, rrep.Blobs)
	assert.Equal(t, rep.Files, rrep.Files)
	for _, f := range []string{"", dbFile, "secret.key", "token.key", storageDir} {
		info, err := os.Stat(filepath.Join(restored, f))
		require.NoError(t, err, f)
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		assert.Equal(t, want, info.Mode().Perm(), "mode of %q", f)
	}
	for _, f := range []string{"secret.key", "token.key"} {
		a, _ := os.ReadFile(filepath.Join(live.dir, f))
		b, _ := os.ReadFile(filepath.Join(restored, f))
		assert.Equal(t, a, b, f)
	}
	checkDir(t, restored)
	again := startLive(t, restored)
	for repo, img := range before {
		again.assertSame(t, repo, img)
	}
}

// A second backup into the same directory copies only the new blobs and
// replaces the generation; a third with nothing new copies nothing.
func TestBackupIsIncremental(t *testing.T) {
	live := startLive(t, filepath.Join(t.TempDir(), "data"))
	live.push(t, "one", 2)
	backup := filepath.Join(t.TempDir(), "backup")
	first := backupOf(t, live.dir, backup)
	assert.Equal(t, 3, first.NewBlobs)

	img := live.push(t, "two", 3)
	second := backupOf(t, live.dir, backup)
	assert.Equal(t, 4, second.NewBlobs, "three layers and a config")
	assert.Equal(t, first.Blobs, second.ReusedBlobs)
	layers, _ := img.Layers()
	var want int64
	for _, l := range layers {
		n, _ := l.Size()
		want += n
	}
	cfgSize, _ := img.RawConfigFile()
	assert.Equal(t, want+int64(len(cfgSize)), second.NewBytes)

	third := backupOf(t, live.dir, backup)
	assert.Zero(t, third.NewBlobs)
	assert.Equal(t, second.Blobs, third.ReusedBlobs)
	gens, _ := filepath.Glob(filepath.Join(backup, "gen-*"))
	assert.Equal(t, []string{filepath.Join(backup, third.Generation)}, gens, "only the last generation stays")

	live.stop()
	restored := filepath.Join(t.TempDir(), "restored")
	_, err := Restore(t.Context(), backup, restored)
	require.NoError(t, err)
	startLive(t, restored).assertSame(t, "two", img)
}

// Garbage collection removing a blob between the snapshot and its copy
// makes Backup take a new snapshot, which no longer references it.
func TestBackupRetakesTheSnapshotAfterGC(t *testing.T) {
	live := startLive(t, filepath.Join(t.TempDir(), "data"))
	keep := live.push(t, "keep", 1)
	live.push(t, "gone", 2)
	hook := func(attempt int) {
		if attempt != 1 {
			return
		}
		req, _ := http.NewRequest(http.MethodDelete, live.hs.URL+"/api/v2.0/projects/library/repositories/gone", nil)
		req.SetBasicAuth("admin", backupTestPassword)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		res, err := live.srv.Registry().CollectGarbage(t.Context(), registry.GCOptions{GraceWindow: -1})
		require.NoError(t, err)
		require.Positive(t, res.BlobsDeleted)
	}
	backup := filepath.Join(t.TempDir(), "backup")
	rep := backupOf(t, live.dir, backup, func(o *backupOptions) { o.afterSnapshot = hook })
	assert.Equal(t, 2, rep.Snapshots)
	assert.Equal(t, 2, rep.Blobs, "keep's layer and config")
	live.stop()
	restored := filepath.Join(t.TempDir(), "restored")
	_, err := Restore(t.Context(), backup, restored)
	require.NoError(t, err)
	checkDir(t, restored)
	startLive(t, restored).assertSame(t, "keep", keep)
}

// A referenced blob that stays missing fails the backup after the
// bounded attempts, naming it, and leaves no manifest behind.
func TestBackupGivesUpOnAMissingBlob(t *testing.T) {
	live := startLive(t, filepath.Join(t.TempDir(), "data"))
	img := live.push(t, "app", 1)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	require.NoError(t, os.Remove(blobFile(live.dir, d.String())))
	cfg := DefaultConfig()
	cfg.DataDir = live.dir
	backup := filepath.Join(t.TempDir(), "backup")
	_, err := Backup(t.Context(), cfg, backup, WithBackupAttempts(2))
	require.ErrorContains(t, err, d.String())
	assert.ErrorContains(t, err, "2 snapshots")
	assert.NoFileExists(t, filepath.Join(backup, manifestFile))
}

// blobFile is where the filesystem driver under dir keeps digest d.
func blobFile(dir, d string) string {
	alg, hex, _ := strings.Cut(d, ":")
	return filepath.Join(dir, storageDir, "blobs", alg, hex[:2], hex)
}

// oneBackup makes a small backup to damage, and returns its directory and
// manifest.
func oneBackup(t *testing.T) (string, *backupManifest, v1.Image) {
	live := startLive(t, filepath.Join(t.TempDir(), "data"))
	img := live.push(t, "app", 1)
	live.stop() // a stopped server's directory (no -wal, -shm) backs up as well
	backup := filepath.Join(t.TempDir(), "backup")
	backupOf(t, live.dir, backup)
	root, err := os.OpenRoot(backup)
	require.NoError(t, err)
	defer root.Close()
	m, err := readManifest(root)
	require.NoError(t, err)
	return backup, m, img
}

func saveManifest(t *testing.T, dir string, m *backupManifest) {
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, manifestFile), b, 0o600))
}

// A damaged backup is refused with what is wrong, and the restore leaves
// nothing behind.
func TestRestoreRefusesDamagedBackups(t *testing.T) {
	backup, m, img := oneBackup(t)
	layers, _ := img.Layers()
	layer, _ := layers[0].Digest()
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"corrupt blob", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(blobFile(dir, layer.String()), []byte("not the layer"), 0o600))
		}, layer.String()},
		{"missing blob", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(blobFile(dir, layer.String())))
		}, "blob " + layer.String() + " is missing"},
		{"half-written (no manifest)", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, manifestFile)))
		}, "incomplete"},
		{"snapshot changed", func(t *testing.T, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, m.Generation, dbFile), os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, _ = f.Write([]byte("x"))
			require.NoError(t, f.Close())
		}, dbFile + " does not match its sha256"},
		{"key file changed", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, m.Generation, filesDir, "secret.key"), make([]byte, 32), 0o600))
		}, "secret.key does not match its sha256"},
		{"blob list changed", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, m.Generation, blobListFile), nil, 0o600))
		}, blobListFile + " does not match"},
		{"manifest not JSON", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, manifestFile), []byte("{"), 0o600))
		}, manifestFile},
		{"future format", func(t *testing.T, dir string) {
			bad := *m
			bad.Format = 2
			saveManifest(t, dir, &bad)
		}, "format 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, os.CopyFS(dir, os.DirFS(backup)))
			tt.damage(t, dir)
			parent := t.TempDir()
			_, err := Restore(t.Context(), dir, filepath.Join(parent, "new"))
			require.ErrorContains(t, err, tt.want)
			left, _ := os.ReadDir(parent)
			assert.Empty(t, left, "a failed restore leaves nothing")
		})
	}
}

// A manifest naming places outside the backup or over the database is
// refused before anything is read or written.
func TestRestoreRefusesPathTricks(t *testing.T) {
	backup, m, _ := oneBackup(t)
	outside := filepath.Join(t.TempDir(), "outside")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o600))
	tests := []struct {
		name   string
		change func(m *backupManifest)
	}{
		{"generation climbs", func(m *backupManifest) { m.Generation = "../" + m.Generation }},
		{"generation absolute", func(m *backupManifest) { m.Generation = "/tmp" }},
		{"database elsewhere", func(m *backupManifest) { m.Database.Path = "../berth.db" }},
		{"file climbs", func(m *backupManifest) { m.Files[0].Path = "../../escape" }},
		{"file absolute", func(m *backupManifest) { m.Files[0].Path = outside }},
		{"file over the database", func(m *backupManifest) { m.Files[0].Path = dbFile }},
		{"file into the blobs", func(m *backupManifest) { m.Files[0].Path = "storage/blobs/x" }},
		{"file not clean", func(m *backupManifest) { m.Files[0].Path = "tls/../secret.key" }},
		{"file twice", func(m *backupManifest) { m.Files = append(m.Files, m.Files[0]) }},
		{"bad sha", func(m *backupManifest) { m.Files[0].SHA256 = "zz" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "copy")
			require.NoError(t, os.CopyFS(dir, os.DirFS(backup)))
			bad := *m
			bad.Files = append([]fileEntry(nil), m.Files...)
			tt.change(&bad)
			saveManifest(t, dir, &bad)
			parent := t.TempDir()
			_, err := Restore(t.Context(), dir, filepath.Join(parent, "new"))
			require.ErrorContains(t, err, manifestFile)
			left, _ := os.ReadDir(parent)
			assert.Empty(t, left)
		})
	}
	t.Run("symlink out of the backup", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "copy")
		require.NoError(t, os.CopyFS(dir, os.DirFS(backup)))
		key := filepath.Join(dir, m.Generation, filesDir, "secret.key")
		require.NoError(t, os.Remove(key))
		require.NoError(t, os.Symlink(outside, key))
		_, err := Restore(t.Context(), dir, filepath.Join(t.TempDir(), "new"))
		require.Error(t, err)
	})
}

// Restore writes only into a new or empty directory.
func TestRestoreRefusesANonEmptyTarget(t *testing.T) {
	backup, _, _ := oneBackup(t)
	target := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(target, "keep"), []byte("mine"), 0o600))
	_, err := Restore(t.Context(), backup, target)
	require.ErrorContains(t, err, "not empty")
	b, _ := os.ReadFile(filepath.Join(target, "keep"))
	assert.Equal(t, "mine", string(b))

}

// Backup refuses what it cannot copy consistently.
func TestBackupRefuses(t *testing.T) {
	data := t.TempDir()
	cfg := DefaultConfig()
	cfg.DataDir = data
	_, err := Backup(t.Context(), cfg, t.TempDir())
	require.ErrorContains(t, err, "not a berth data directory")

	require.NoError(t, os.WriteFile(filepath.Join(data, dbFile), nil, 0o600))
	_, err = Backup(t.Context(), cfg, filepath.Join(data, "backup"))
	require.ErrorContains(t, err, "must not contain one another")

	scale := cfg
	scale.Database.URL = "postgres://db/berth"
	_, err = Backup(t.Context(), scale, t.TempDir())
	require.ErrorContains(t, err, "docs/backup.md")
	scale = cfg
	scale.Storage.S3.Bucket = "blobs"
	_, err = Backup(t.Context(), scale, t.TempDir())
	require.ErrorContains(t, err, "docs/backup.md")
}

// An empty directory (perhaps a volume's mount point, which cannot be
// replaced) is filled in place.
func TestRestoreIntoAMountPoint(t *testing.T) {
	backup, _, img := oneBackup(t)
	mount := filepath.Join(t.TempDir(), "volume")
	require.NoError(t, os.Mkdir(mount, 0o755))
	_, err := Restore(t.Context(), backup, mount)
	require.NoError(t, err)
	entries, _ := os.ReadDir(mount)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".berth-restore-"), "the assembly directory is gone")
	}
	info, err := os.Stat(mount)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	checkDir(t, mount)
	startLive(t, mount).assertSame(t, "app", img)
}

// Two backups into one directory at once: the second is refused while the
// first runs (each removes the generations but its own when it ends), and
// the directory stays a valid backup.
func TestBackupRefusesAConcurrentBackup(t *testing.T) {
	live := startLive(t, filepath.Join(t.TempDir(), "data"))
	img := live.push(t, "app", 1)
	live.stop()
	backup := filepath.Join(t.TempDir(), "backup")
	backupOf(t, live.dir, backup)
	held, err := lockFileAt(filepath.Join(backup, backupLockFile), "test")
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.DataDir = live.dir
	_, err = Backup(t.Context(), cfg, backup)
	require.ErrorContains(t, err, "is in use by another backup")
	require.NoError(t, held.Close())
	backupOf(t, live.dir, backup) // free again
	restored := filepath.Join(t.TempDir(), "restored")
	_, err = Restore(t.Context(), backup, restored)
	require.NoError(t, err)
	checkDir(t, restored)
	startLive(t, restored).assertSame(t, "app", img)
}
