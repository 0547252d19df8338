package replicate_test

import (
	"context"
	"github.com/berthlabs/berth/core"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthlabs/berth/internal/testimage"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/replicate"
)

// bigImage is an image with one uncompressed layer of size random bytes.
func bigImage(t testing.TB, size int, seed uint64) v1.Image {
	t.Helper()
	img, err := testimage.Random(size, seed)
	require.NoError(t, err)
	return img
}

// waitUpload waits until a file named "data" below a directory named dir
// under root holds at least n bytes.
func waitUpload(t testing.TB, root, dir string, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		found := false
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "data" || !strings.Contains(p, string(os.PathSeparator)+dir+string(os.PathSeparator)) {
				return nil
			}
			if fi, err := d.Info(); err == nil && fi.Size() >= n {
				found = true
				return fs.SkipAll
			}
			return nil
		})
		if found {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no upload under %s reached %d bytes within %s", root, n, within)
}

// TestKillDestinationMidBlob: the destination (CNCF Distribution v3, a
// real process) is killed with SIGKILL in the middle of a 200 MiB blob
// and restarted; the execution resumes and completes, and the image is
// byte-identical at the destination.
func TestKillDestinationMidBlob(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MiB")
	}
	ctx := context.Background()
	d := startDistribution(t, "registry", "", "")
	l := newLocal(t, "sqlite", replicate.WithCopyOptions(replicate.WithResumes(20, 100*time.Millisecond)))
	img := bigImage(t, 200<<20, 1)
	push(t, l.host, "big/blob:v1", img)
	epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "dist", URL: d.url})
	require.NoError(t, err)
	pid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: "big", Mode: replicate.Push, RemoteID: epID, Enabled: true,
		Trigger: replicate.TriggerManual, Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "big/blob"}}})
	require.NoError(t, err)
	eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
	require.NoError(t, err)

	waitUpload(t, d.dir, "_uploads", 150<<20, time.Minute)
	d.kill()
	time.Sleep(500 * time.Millisecond)
	d.start()

	e := waitExec(t, l.svc, eid, 3*time.Minute)
	tasks, _, err := l.svc.Tasks(ctx, eid, core.Page{Limit: 10})
	require.NoError(t, err)
	log, _ := l.svc.TaskLog(ctx, eid, tasks[0].ID)
	t.Logf("task log:\n%s", log)
	require.Equal(t, replicate.StatusSucceed, e.Status, "%+v", e)
	assert.Contains(t, log, "resuming")
	sameImage(t, l.host, "big/blob:v1", d.host(), "big/blob:v1")
}
