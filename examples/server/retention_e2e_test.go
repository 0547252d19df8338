package main

// Tag retention through the management API, then garbage collection
// freeing what it deleted, in the whole server.

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/server"
)

// e2eGC runs garbage collection through the API and waits for the run.
func e2eGC(t *testing.T, a *authApp, untagged bool) (api.ExecHistory, map[string]any) {
	t.Helper()
	r := e2eAdmin(t, a, http.MethodPost, "/system/gc/schedule", api.ExecSchedule{Schedule: &api.ScheduleObj{Type: "Manual"},
		Parameters: map[string]any{"delete_untagged": untagged}}, http.StatusCreated)
	loc := strings.TrimPrefix(r.header.Get("Location"), api.BasePath)
	var run api.ExecHistory
	waitFor(t, time.Minute, "the GC run finishes", func() bool {
		run = e2eJSON[api.ExecHistory](t, e2eAdmin(t, a, http.MethodGet, loc, nil, http.StatusOK))
		return run.JobStatus != "Pending" && run.JobStatus != "Running"
	})
	var params map[string]any
	require.NoError(t, json.Unmarshal([]byte(run.JobParameters), &params))
	return run, params
}

// e2eRetentionRun starts an execution of policy id and waits for it.
func e2eRetentionRun(t *testing.T, a *authApp, id int64, dry bool) api.RetentionExecution {
	t.Helper()
	base := "/retentions/" + strconv.FormatInt(id, 10) + "/executions"
	e2eAdmin(t, a, http.MethodPost, base, api.RetentionExecutionReq{DryRun: dry}, http.StatusCreated)
	var ex api.RetentionExecution
	waitFor(t, time.Minute, "the retention execution finishes", func() bool {
		list := e2eJSON[[]api.RetentionExecution](t, e2eAdmin(t, a, http.MethodGet, base, nil, http.StatusOK))
		require.NotEmpty(t, list)
		ex = list[0]
		return ex.Status != "Pending" && ex.Status != "Running"
	})
	require.Equal(t, dry, ex.DryRun)
	return ex
}

func e2eTags(t *testing.T, a *authApp, repo string) []string {
	t.Helper()
	r := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/"+repo+"/tags/list", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	return e2eJSON[struct{ Tags []string }](t, r).Tags
}

// e2eBlobStatus is the status of a blob GET as admin.
func e2eBlobStatus(t *testing.T, a *authApp, repo string, d v1.Hash) int {
	t.Helper()
	return e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), nil).status
}

// layersOf lists an image's layer and config digests with their sizes.
func layersOf(t *testing.T, img v1.Image) map[v1.Hash]int64 {
	t.Helper()
	out := map[v1.Hash]int64{}
	ls, err := img.Layers()
	require.NoError(t, err)
	for _, l := range ls {
		d, err := l.Digest()
		require.NoError(t, err)
		n, err := l.Size()
		require.NoError(t, err)
		out[d] = n
	}
	m, err := img.Manifest()
	require.NoError(t, err)
	out[m.Config.Digest] = m.Config.Size
	return out
}

// A project keeps the two newest pushes of "app" and everything of "multi"
// (a two-platform index): the dry run changes nothing and says what would
// go, the real run deletes the three oldest tags of app (the index and its
// children stay whole), and garbage collection then frees exactly the
// deleted images' bytes while every retained artifact still pulls.
func TestRetentionThroughTheAPIThenGC(t *testing.T) {
	dir := t.TempDir()
	a := startE2EApp(t, func(c *server.Config) { c.DataDir, c.GC.GraceWindow = dir, time.Second })
	e2eCreateProject(t, a, "ret", false)
	pid := e2eJSON[api.Project](t, e2eAdmin(t, a, http.MethodGet, "/projects/ret", nil, http.StatusOK)).ProjectID
	opts := e2eRemoteOptions(t, "admin", e2eAdminPassword)

	var imgs []v1.Image
	for i := 1; i <= 5; i++ {
		img, err := random.Image(4096, 2)
		require.NoError(t, err)
		ref, err := name.ParseReference(a.host+"/ret/app:"+strconv.Itoa(i), name.Insecure)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img, opts...))
		imgs = append(imgs, img)
		time.Sleep(20 * time.Millisecond) // distinct push times
	}
	idx, err := random.Index(2048, 1, 2)
	require.NoError(t, err)
	idxRef, err := name.ParseReference(a.host+"/ret/multi:1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(idxRef, idx, opts...))
	idxDigest, err := idx.Digest()
	require.NoError(t, err)

	policy := api.RetentionPolicy{Algorithm: "or", Scope: &api.RetentionPolicyScope{Level: "project", Ref: pid},
		Trigger: &api.RetentionRuleTrigger{Kind: "Schedule", Settings: map[string]any{"cron": ""}},
		Rules: []api.RetentionRule{
			{Action: "retain", Template: "latestPushedK", Params: map[string]any{"latestPushedK": 2},
				TagSelectors:   []api.RetentionSelector{{Kind: "doublestar", Decoration: "matches", Pattern: "**"}},
				ScopeSelectors: map[string][]api.RetentionSelector{"repository": {{Kind: "doublestar", Decoration: "repoMatches", Pattern: "app"}}}},
			{Action: "retain", Template: "always",
				TagSelectors:   []api.RetentionSelector{{Kind: "doublestar", Decoration: "matches", Pattern: "**"}},
				ScopeSelectors: map[string][]api.RetentionSelector{"repository": {{Kind: "doublestar", Decoration: "repoMatches", Pattern: "multi"}}}},
		}}
	r := e2eAdmin(t, a, http.MethodPost, "/retentions", policy, http.StatusCreated)
	id := idFrom(t, []byte(r.header.Get("Location")))
	assert.Equal(t, pid, id, "a policy's id is its project's")
	got := e2eJSON[api.RetentionPolicy](t, e2eAdmin(t, a, http.MethodGet, "/retentions/"+strconv.FormatInt(id, 10), nil, http.StatusOK))
	require.Len(t, got.Rules, 2)
	assert.Equal(t, "latestPushedK", got.Rules[0].Template)

	// The dry run decides and logs, and deletes nothing.
	ex := e2eRetentionRun(t, a, id, true)
	require.Equal(t, "Success", ex.Status)
	assert.ElementsMatch(t, []string{"1", "2", "3", "4", "5"}, e2eTags(t, a, "ret/app"))
	tasks := e2eJSON[[]api.RetentionExecutionTask](t, e2eAdmin(t, a, http.MethodGet,
		"/retentions/"+strconv.FormatInt(id, 10)+"/executions/"+strconv.FormatInt(ex.ID, 10)+"/tasks", nil, http.StatusOK))
	byRepo := map[string]api.RetentionExecutionTask{}
	for _, tk := range tasks {
		byRepo[tk.Repository] = tk
	}
	require.Contains(t, byRepo, "app", "tasks: %+v", tasks)
	assert.Equal(t, 5, byRepo["app"].Total)
	assert.Equal(t, 2, byRepo["app"].Retained)
	require.Contains(t, byRepo, "multi")
	assert.Equal(t, 1, byRepo["multi"].Total, "an index and its platforms are one artifact")
	assert.Equal(t, 1, byRepo["multi"].Retained)

	// The real run.
	ex = e2eRetentionRun(t, a, id, false)
	require.Equal(t, "Success", ex.Status)
	assert.ElementsMatch(t, []string{"4", "5"}, e2eTags(t, a, "ret/app"))
	assert.Equal(t, []string{"1"}, e2eTags(t, a, "ret/multi"))
	tasks = e2eJSON[[]api.RetentionExecutionTask](t, e2eAdmin(t, a, http.MethodGet,
		"/retentions/"+strconv.FormatInt(id, 10)+"/executions/"+strconv.FormatInt(ex.ID, 10)+"/tasks", nil, http.StatusOK))
	for _, tk := range tasks {
		if tk.Repository != "app" {
			continue
		}
		log := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, api.BasePath+"/retentions/"+strconv.FormatInt(id, 10)+
			"/executions/"+strconv.FormatInt(ex.ID, 10)+"/tasks/"+strconv.FormatInt(tk.ID, 10), nil)
		require.Equal(t, http.StatusOK, log.status)
		for _, img := range imgs[:3] {
			d, err := img.Digest()
			require.NoError(t, err)
			assert.Contains(t, string(log.body), d.String(), "the log names each deleted artifact")
		}
	}

	// What retention deleted is garbage now; the grace window is a second.
	time.Sleep(1100 * time.Millisecond)
	var want int64
	doomed := map[v1.Hash]int64{}
	for _, img := range imgs[:3] {
		for d, n := range layersOf(t, img) {
			doomed[d] = n
			want += n
		}
	}
	filesBefore := blobFiles(t, dir)
	run, params := e2eGC(t, a, false)
	require.Equal(t, "Success", run.JobStatus, "%+v", run)
	assert.EqualValues(t, len(doomed), params["blobs_deleted"])
	assert.EqualValues(t, want, params["bytes_freed"])
	assert.Equal(t, filesBefore-len(doomed), blobFiles(t, dir), "the deleted images' files are gone")
	for d := range doomed {
		assert.Equal(t, http.StatusNotFound, e2eBlobStatus(t, a, "ret/app", d))
	}
	// Every retained artifact pulls whole: the two images and the index
	// with both platforms.
	for i, img := range imgs[3:] {
		ref, err := name.ParseReference(a.host+"/ret/app:"+strconv.Itoa(i+4), name.Insecure)
		require.NoError(t, err)
		pulled, err := remote.Image(ref, opts...)
		require.NoError(t, err)
		for d := range layersOf(t, img) {
			assert.Equal(t, http.StatusOK, e2eBlobStatus(t, a, "ret/app", d))
		}
		want, _ := img.Digest()
		got, err := pulled.Digest()
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	pulledIdx, err := remote.Index(idxRef, opts...)
	require.NoError(t, err)
	im, err := pulledIdx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 2)
	for _, m := range im.Manifests {
		child, err := pulledIdx.Image(m.Digest)
		require.NoError(t, err)
		for d := range layersOf(t, child) {
			assert.Equal(t, http.StatusOK, e2eBlobStatus(t, a, "ret/multi", d), "a platform of %s lost a blob", idxDigest)
		}
	}
}
