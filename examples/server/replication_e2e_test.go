package main

// End-to-end replication between two reference-server processes with
// authentication on: the management API drives it, the replication client
// authenticates to the peer through its token service, and the peer is
// killed with SIGKILL in the middle of a 200 MiB blob.

import (
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthlabs/berth/internal/testimage"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// replServer is a server process with auth on, at a fixed address (so a
// restart keeps it, and its token realm is right).
type replServer struct {
	*serverProc
	dir  string
	addr string
}

func startReplServer(t *testing.T, dir, addr string) *replServer {
	t.Helper()
	if addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr = ln.Addr().String()
		require.NoError(t, ln.Close())
	}
	s := startServer(t, dir, "-auth=true", "-addr", addr, "-external-url", "http://"+addr)
	return &replServer{serverProc: s, dir: dir, addr: addr}
}

// call sends a management API request as admin and checks the status; it
// returns the Location of a 201 answer, else the body.
func (s *replServer) call(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	r := s.mustAdminAPI(t, method, path, body, want)
	if r.status == http.StatusCreated {
		return []byte(r.header.Get("Location"))
	}
	return r.body
}

func (s *replServer) auth() remote.Option {
	return remote.WithAuth(&authn.Basic{Username: "admin", Password: e2eAdminPassword})
}

func (s *replServer) push(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(s.addr+"/"+ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img, s.auth(), remote.WithContext(t.Context())))
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

// digest is the digest of ref at s, or "".
func (s *replServer) digest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(s.addr+"/"+ref, name.Insecure)
	require.NoError(t, err)
	d, err := remote.Head(r, s.auth(), remote.WithContext(t.Context()))
	if err != nil {
		return ""
	}
	return d.Digest.String()
}

// execution polls an execution until it is no longer in progress.
func (s *replServer) execution(t *testing.T, path string, within time.Duration) api.ReplicationExecution {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var e api.ReplicationExecution
		require.NoError(t, json.Unmarshal(s.call(t, http.MethodGet, path, nil, http.StatusOK), &e))
		if e.Status != "InProgress" {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still in progress after %s: %+v", path, within, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// latestExecution is the newest execution of a policy.
func (s *replServer) latestExecution(t *testing.T, policyID int64) *api.ReplicationExecution {
	t.Helper()
	var es []api.ReplicationExecution
	require.NoError(t, json.Unmarshal(s.call(t, http.MethodGet, "/replication/executions?policy_id="+strconv.FormatInt(policyID, 10),
		nil, http.StatusOK), &es))
	if len(es) == 0 {
		return nil
	}
	return &es[0]
}

func idFrom(t *testing.T, location []byte) int64 {
	t.Helper()
	i := strings.LastIndex(string(location), "/")
	id, err := strconv.ParseInt(string(location[i+1:]), 10, 64)
	require.NoError(t, err, "%s", location)
	return id
}

func bigRandomImage(t *testing.T, size int) v1.Image {
	t.Helper()
	img, err := testimage.Random(size, 42)
	require.NoError(t, err)
	return img
}

// uploadAtLeast waits until an upload session under dir's storage holds
// n bytes.
func uploadAtLeast(t *testing.T, dir string, n int64, within time.Duration) {
	t.Helper()
	root := filepath.Join(dir, "storage", "uploads") // the filesystem driver's sessions
	waitFor(t, within, "an upload of "+strconv.FormatInt(n, 10)+" bytes at the destination", func() bool {
		found := false
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "data" {
				if fi, err := d.Info(); err == nil && fi.Size() >= n {
					found = true
					return fs.SkipAll
				}
			}
			return nil
		})
		return found
	})
}

func TestReplicationBetweenServers(t *testing.T) {
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	a := startReplServer(t, t.TempDir(), "")
	b := startReplServer(t, t.TempDir(), "")
	for _, s := range []*replServer{a, b} {
		f := false
		s.call(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "proj", Public: &f}, http.StatusCreated)
	}

	// B as a registry of A, with B's admin credentials (token flow).
	loc := a.call(t, http.MethodPost, "/registries", api.Registry{Name: "b", URL: b.URL,
		Credential: &api.RegistryCredential{Type: "basic", AccessKey: "admin", AccessSecret: e2eAdminPassword}}, http.StatusCreated)
	regID := idFrom(t, loc)
	a.call(t, http.MethodPost, "/registries/ping", api.RegistryPing{ID: regID}, http.StatusOK)
	a.call(t, http.MethodPost, "/registries/ping", api.RegistryPing{URL: b.URL,
		Credential: &api.RegistryCredential{AccessKey: "admin", AccessSecret: "wrong"}}, http.StatusBadRequest)

	// Event-based push: a fresh push is at B within 2 s.
	loc = a.call(t, http.MethodPost, "/replication/policies", api.ReplicationPolicy{Name: "to-b", DestRegistry: &api.RegistryRef{ID: regID},
		Trigger: &api.ReplicationTrigger{Type: "event_based"}, Enabled: true,
		Filters: []api.ReplicationFilter{{Type: "name", Value: "proj/**"}, {Type: "tag", Value: "v*"}}}, http.StatusCreated)
	pushPolicy := idFrom(t, loc)
	img, err := random.Image(4096, 2)
	require.NoError(t, err)
	d := a.push(t, "proj/app:v1", img)
	start := time.Now()
	waitFor(t, 2*time.Second, "the push replicated to B", func() bool { return b.digest(t, "proj/app:v1") == d })
	t.Logf("event-triggered replication: at the destination %s after the push", time.Since(start))
	e := a.latestExecution(t, pushPolicy)
	require.NotNil(t, e)
	assert.Equal(t, "event_based", e.Trigger)

	// Manual pull from B.
	img2, err := random.Image(2048, 1)
	require.NoError(t, err)
	d2 := b.push(t, "proj/pulled:v2", img2)
	loc = a.call(t, http.MethodPost, "/replication/policies", api.ReplicationPolicy{Name: "from-b", SrcRegistry: &api.RegistryRef{ID: regID},
		Trigger: &api.ReplicationTrigger{Type: "manual"}, Enabled: true,
		Filters: []api.ReplicationFilter{{Type: "name", Value: "proj/pulled"}}}, http.StatusCreated)
	loc = a.call(t, http.MethodPost, "/replication/executions", api.StartReplicationExecution{PolicyID: idFrom(t, loc)}, http.StatusCreated)
	execPath := strings.TrimPrefix(string(loc), api.BasePath)
	ex := a.execution(t, execPath, time.Minute)
	require.Equal(t, "Succeed", ex.Status, "%+v", ex)
	assert.Equal(t, d2, a.digest(t, "proj/pulled:v2"))
	var tasks []api.ReplicationTask
	require.NoError(t, json.Unmarshal(a.call(t, http.MethodGet, execPath+"/tasks", nil, http.StatusOK), &tasks))
	require.Len(t, tasks, 1)
	logText := a.call(t, http.MethodGet, execPath+"/tasks/"+strconv.FormatInt(tasks[0].ID, 10)+"/log", nil, http.StatusOK)
	assert.Contains(t, string(logText), "done:")

	// Kill B in the middle of a 200 MiB blob, restart it: the execution
	// resumes the upload where B left it and completes.
	if testing.Short() {
		return
	}
	big := bigRandomImage(t, 200<<20)
	bigDigest := a.push(t, "proj/big:v1", big)
	uploadAtLeast(t, b.dir, 150<<20, time.Minute)
	b.kill()
	b2 := startReplServer(t, b.dir, b.addr)
	waitFor(t, 3*time.Minute, "the big image replicated", func() bool {
		e := a.latestExecution(t, pushPolicy)
		return e != nil && e.Status != "InProgress" && b2.digest(t, "proj/big:v1") == bigDigest
	})
	e = a.latestExecution(t, pushPolicy)
	require.Equal(t, "Succeed", e.Status, "%+v", e)
	execPath = "/replication/executions/" + strconv.FormatInt(e.ID, 10)
	require.NoError(t, json.Unmarshal(a.call(t, http.MethodGet, execPath+"/tasks", nil, http.StatusOK), &tasks))
	require.Len(t, tasks, 1)
	logText = a.call(t, http.MethodGet, execPath+"/tasks/"+strconv.FormatInt(tasks[0].ID, 10)+"/log", nil, http.StatusOK)
	t.Logf("task log:\n%s", logText)
	assert.Contains(t, string(logText), "resuming at byte")
	b2.requireIntact(t, "proj/big:v1")
}
