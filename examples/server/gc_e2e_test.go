package main

// Garbage collection against the real server: online under a load of
// pushes, pulls, tag moves and deletions, and across a SIGKILL.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/filesystem"
)

// loadClient is what the load's goroutines push and pull with: errors are
// returned, never asserted, off the test's goroutine.
type loadClient struct {
	base   string
	client *http.Client
}

func (c *loadClient) do(method, path string, body []byte, header ...string) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.SetBasicAuth("admin", e2eAdminPassword)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// pushBlob uploads content monolithically, or chunked in two PATCHes.
func (c *loadClient) pushBlob(repo string, content []byte, chunked bool) error {
	d := digest.FromBytes(content)
	if !chunked {
		st, _, b, err := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), content,
			"Content-Type", "application/octet-stream")
		if err == nil && st != http.StatusCreated {
			err = fmt.Errorf("monolithic push: %d %s", st, b)
		}
		return err
	}
	st, h, b, err := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil)
	if err != nil || st != http.StatusAccepted {
		return fmt.Errorf("start upload: %d %s %v", st, b, err)
	}
	loc := h.Get("Location")
	half := len(content) / 2
	for i, part := range [][]byte{content[:half], content[half:]} {
		start := i * half
		st, h, b, err = c.do(http.MethodPatch, strings.TrimPrefix(loc, c.base), part, "Content-Type", "application/octet-stream",
			"Content-Range", fmt.Sprintf("%d-%d", start, start+len(part)-1))
		if err != nil || st != http.StatusAccepted {
			return fmt.Errorf("patch: %d %s %v", st, b, err)
		}
		loc = h.Get("Location")
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	st, _, b, err = c.do(http.MethodPut, strings.TrimPrefix(loc, c.base)+sep+"digest="+d.String(), nil)
	if err == nil && st != http.StatusCreated {
		err = fmt.Errorf("finish upload: %d %s", st, b)
	}
	return err
}

// pushedImage is an acknowledged push.
type pushedImage struct {
	repo, tag string
	manifest  []byte
	blobs     [][]byte
}

func (p pushedImage) digest() digest.Digest { return digest.FromBytes(p.manifest) }

func randSize(lo, hi int) int {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)))
	return lo + int(n.Int64())
}

func (c *loadClient) pushImage(t *testing.T, repo, tag string, chunked bool) (pushedImage, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","nonce":"` + rand.Text() + `"}`)
	layer := randomBytes(randSize(1<<10, 64<<10))
	img := pushedImage{repo: repo, tag: tag, blobs: [][]byte{config, layer}, manifest: imageManifest(t, config, layer)}
	for _, b := range img.blobs {
		if err := c.pushBlob(repo, b, chunked); err != nil {
			return img, err
		}
	}
	st, _, b, err := c.do(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, img.manifest, "Content-Type", manifestType)
	if err == nil && st != http.StatusCreated {
		err = fmt.Errorf("manifest: %d %s", st, b)
	}
	return img, err
}

// gcNow runs garbage collection through the API and returns the run.
func (s *serverProc) gcNow(t *testing.T, untagged bool) api.ExecHistory {
	t.Helper()
	r := s.mustAdminAPI(t, http.MethodPost, "/system/gc/schedule", api.ExecSchedule{Schedule: &api.ScheduleObj{Type: "Manual"},
		Parameters: map[string]any{"delete_untagged": untagged}}, http.StatusCreated)
	loc := strings.TrimPrefix(r.header.Get("Location"), api.BasePath)
	var run api.ExecHistory
	waitFor(t, time.Minute, "the GC run finishes", func() bool {
		require.NoError(t, json.Unmarshal(s.mustAdminAPI(t, http.MethodGet, loc, nil, http.StatusOK).body, &run))
		return run.JobStatus != "Pending" && run.JobStatus != "Running"
	})
	return run
}

// blobFiles counts the blob files of a data directory.
func blobFiles(t *testing.T, dataDir string) int {
	t.Helper()
	n := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(dataDir, "storage", "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	}))
	return n
}

// 16 clients push (monolithic and chunked), pull, move tags and delete
// while garbage collection runs every two seconds: every acknowledged
// manifest that was not deleted still pulls byte-identical, the store
// checks clean, and once past the grace window nothing is left over.
func TestGCUnderLoad(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	s := startServer(t, dir, "-auth=true", "-gc-grace-window", "1s")
	s.createPrivateProject(t, "soak")
	c := &loadClient{base: s.URL, client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}

	var mu sync.Mutex
	live := map[digest.Digest]pushedImage{} // acknowledged and not deleted
	var errs []error
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			repo := fmt.Sprintf("soak/app%d", w%4)
			var mine []pushedImage
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				img, err := c.pushImage(t, repo, fmt.Sprintf("w%d-%d", w, i%3), (w+i)%2 == 0)
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				live[img.digest()] = img
				mu.Unlock()
				mine = append(mine, img)
				// Pull one of ours back; now and then delete an old one.
				old := mine[randSize(0, len(mine))]
				mu.Lock()
				_, ok := live[old.digest()]
				mu.Unlock()
				if ok && i%4 == 3 {
					st, _, b, err := c.do(http.MethodDelete, "/v2/"+old.repo+"/manifests/"+old.digest().String(), nil)
					if err != nil || st != http.StatusAccepted {
						fail(fmt.Errorf("delete: %d %s %v", st, b, err))
						return
					}
					mu.Lock()
					delete(live, old.digest())
					mu.Unlock()
				} else if ok {
					st, _, b, err := c.do(http.MethodGet, "/v2/"+old.repo+"/manifests/"+old.digest().String(), nil, "Accept", manifestType)
					if err != nil || st != http.StatusOK || !bytes.Equal(b, old.manifest) {
						fail(fmt.Errorf("pull %s: %d %v", old.digest(), st, err))
						return
					}
				}
			}
		})
	}
	deadline := time.Now().Add(12 * time.Second)
	runs := 0
	for time.Now().Before(deadline) {
		run := s.gcNow(t, false)
		require.Equal(t, "Success", run.JobStatus, "%+v", run)
		runs++
		time.Sleep(time.Second)
	}
	close(stop)
	wg.Wait()
	require.Empty(t, errs, "the load failed while GC ran")
	t.Logf("%d GC runs under load; %d live images", runs, len(live))

	time.Sleep(1100 * time.Millisecond) // past the grace window
	final := s.gcNow(t, false)
	require.Equal(t, "Success", final.JobStatus)
	t.Logf("final run: %s", final.JobParameters)
	referenced := map[digest.Digest]bool{}
	for _, img := range live {
		r := s.do(http.MethodGet, "/v2/"+img.repo+"/manifests/"+img.digest().String(), nil,
			append([]string{"Accept", manifestType}, basicAuth("admin", e2eAdminPassword)...)...)
		require.Equal(t, http.StatusOK, r.status, "manifest %s of %s", img.digest(), img.repo)
		require.Equal(t, img.manifest, r.body)
		for _, b := range img.blobs {
			d := digest.FromBytes(b)
			referenced[d] = true
			rb := s.do(http.MethodGet, "/v2/"+img.repo+"/blobs/"+d.String(), nil, basicAuth("admin", e2eAdminPassword)...)
			require.Equal(t, http.StatusOK, rb.status, "blob %s", d)
			require.True(t, bytes.Equal(b, rb.body), "blob %s byte-identical", d)
		}
	}
	assert.Equal(t, len(referenced), blobFiles(t, dir), "every blob file is referenced: no garbage left over")
	s.stop()
	code, out := runCheck(t, dir)
	assert.Equal(t, 0, code, out)
}

// A server killed in the middle of a run leaves a consistent store, and
// the run, a durable job, finishes after the restart.
func TestGCSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	s := startServer(t, dir, "-auth=true", "-gc-grace-window", "1s")
	s.createPrivateProject(t, "crash")
	c := &loadClient{base: s.URL, client: &http.Client{Timeout: time.Minute}}
	const orphans = 3000
	for i := range orphans { // blobs no manifest references: garbage
		require.NoError(t, c.pushBlob(fmt.Sprintf("crash/app%d", i%10), randomBytes(64), false))
	}
	kept, err := c.pushImage(t, "crash/app", "v1", false)
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond)

	r := s.mustAdminAPI(t, http.MethodPost, "/system/gc/schedule", api.ExecSchedule{Schedule: &api.ScheduleObj{Type: "Manual"}},
		http.StatusCreated)
	loc := strings.TrimPrefix(r.header.Get("Location"), api.BasePath)
	waitFor(t, 30*time.Second, "some garbage is gone", func() bool { return blobFiles(t, dir) < orphans })
	s.kill()
	t.Logf("killed with %d of %d blob files left", blobFiles(t, dir), orphans+2)
	code, out := runCheck(t, dir)
	require.Equal(t, 0, code, "consistent after SIGKILL mid-run:\n%s", out)

	s = startServer(t, dir, "-auth=true", "-gc-grace-window", "1s")
	var run api.ExecHistory
	waitFor(t, time.Minute, "the interrupted run finishes after the restart", func() bool {
		require.NoError(t, json.Unmarshal(s.mustAdminAPI(t, http.MethodGet, loc, nil, http.StatusOK).body, &run))
		return run.JobStatus == "Success"
	})
	assert.Equal(t, 2, blobFiles(t, dir), "only the kept image's config and layer remain")
	rb := s.do(http.MethodGet, "/v2/crash/app/manifests/v1", nil, append([]string{"Accept", manifestType},
		basicAuth("admin", e2eAdminPassword)...)...)
	require.Equal(t, http.StatusOK, rb.status)
	assert.Equal(t, kept.manifest, rb.body)
	s.stop()
	code, out = runCheck(t, dir)
	assert.Equal(t, 0, code, out)
}

// The repair for a store whose queue does not know its garbage (a restore
// from backup, bytes a crash left without a link): check -requeue-garbage
// reads the whole stopped store and queues what nothing references, and
// the next run frees it while the live image stays whole.
func TestGCRequeueGarbageRepairs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	s := startServer(t, dir, "-auth=true", "-gc-grace-window", "1s")
	s.createPrivateProject(t, "fix")
	c := &loadClient{base: s.URL, client: &http.Client{Timeout: time.Minute}}
	kept, err := c.pushImage(t, "fix/app", "v1", false)
	require.NoError(t, err)
	s.stop()

	drv, err := filesystem.New(filepath.Join(dir, "storage"))
	require.NoError(t, err)
	stray := randomBytes(4096)
	_, err = storage.Put(t.Context(), drv, digest.FromBytes(stray), bytes.NewReader(stray))
	require.NoError(t, err)
	require.Equal(t, 3, blobFiles(t, dir))

	code, out := runCheck(t, dir, "-requeue-garbage")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "queued for garbage collection: 1")

	s = startServer(t, dir, "-auth=true", "-gc-grace-window", "1s")
	run := s.gcNow(t, false)
	require.Equal(t, "Success", run.JobStatus, "%+v", run)
	assert.Equal(t, 2, blobFiles(t, dir), "the stray file is gone, the image's config and layer stay")
	rb := s.do(http.MethodGet, "/v2/fix/app/manifests/v1", nil, append([]string{"Accept", manifestType},
		basicAuth("admin", e2eAdminPassword)...)...)
	require.Equal(t, http.StatusOK, rb.status)
	assert.Equal(t, kept.manifest, rb.body)
	for _, b := range kept.blobs {
		rb := s.do(http.MethodGet, "/v2/fix/app/blobs/"+digest.FromBytes(b).String(), nil, basicAuth("admin", e2eAdminPassword)...)
		require.Equal(t, http.StatusOK, rb.status)
		assert.Equal(t, b, rb.body)
	}
}
