package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// The replicating server itself is SIGKILLed in the middle of a 200 MiB
// blob: after its restart the execution carries on (its job handed back
// to the queue) and the image reaches the destination byte-identical.
func TestReplicationSurvivesReplicatorCrashE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MiB")
	}
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	a := startReplServer(t, t.TempDir(), "")
	b := startReplServer(t, t.TempDir(), "")
	for _, s := range []*replServer{a, b} {
		s.call(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "proj"}, http.StatusCreated)
	}
	regID := idFrom(t, a.call(t, http.MethodPost, "/registries", api.Registry{Name: "b", URL: b.URL,
		Credential: &api.RegistryCredential{Type: "basic", AccessKey: "admin", AccessSecret: e2eAdminPassword}}, http.StatusCreated))
	policy := idFrom(t, a.call(t, http.MethodPost, "/replication/policies", api.ReplicationPolicy{Name: "to-b",
		DestRegistry: &api.RegistryRef{ID: regID}, Trigger: &api.ReplicationTrigger{Type: "event_based"}, Enabled: true,
		Filters: []api.ReplicationFilter{{Type: "name", Value: "proj/**"}}}, http.StatusCreated))

	big := bigRandomImage(t, 200<<20)
	bigDigest := a.push(t, "proj/big:v1", big)
	uploadAtLeast(t, b.dir, 64<<20, time.Minute)
	a.kill()
	a = startReplServer(t, a.dir, a.addr)

	waitFor(t, 3*time.Minute, "the execution to finish after the restart", func() bool {
		e := a.latestExecution(t, policy)
		return e != nil && e.Status != "InProgress"
	})
	e := a.latestExecution(t, policy)
	require.Equal(t, "Succeed", e.Status, "%+v", e)
	require.Equal(t, bigDigest, b.digest(t, "proj/big:v1"))
	require.Contains(t, a.logs.String(), "jobs interrupted by the last shutdown will run again")

	b.requireIntact(t, "proj/big:v1")
}

// requireIntact reads ref's image back from s whole: every layer must
// match its digest (the copy is byte-identical).
func (s *replServer) requireIntact(t *testing.T, ref string) {
	t.Helper()
	r, err := name.ParseReference(s.addr+"/"+ref, name.Insecure)
	require.NoError(t, err)
	got, err := remote.Image(r, s.auth())
	require.NoError(t, err)
	layers, err := got.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		rc, err := l.Compressed()
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, rc)
		require.NoError(t, err, "layer content matches its digest")
		require.NoError(t, rc.Close())
	}
}
