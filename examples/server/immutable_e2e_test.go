package main

// Tag immutability against real clients and replication, in the whole
// server.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// immutableMessage is the part of Harbor's refusal every client shows.
const immutableMessage = "configured as immutable"

// e2eImmutableRule makes tags matching tags in every repository of a
// project immutable.
func e2eImmutableRule(t *testing.T, a *authApp, projectName, tags string) {
	t.Helper()
	sel := func(decoration, pattern string) []api.ImmutableSelector {
		return []api.ImmutableSelector{{Kind: "doublestar", Decoration: decoration, Pattern: pattern}}
	}
	e2eAdmin(t, a, http.MethodPost, "/projects/"+projectName+"/immutabletagrules", api.ImmutableRule{
		Action: "immutable", Template: "immutable_template", TagSelectors: sel("matches", tags),
		ScopeSelectors: map[string][]api.ImmutableSelector{"repository": sel("repoMatches", "**")}}, http.StatusCreated)
}

// tool runs crane or skopeo with the admin's credentials.
func (a *authApp) tool(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	return adminTool(t, a.host, tool, args...)
}

// crane and skopeo can neither overwrite, move nor delete an immutable
// tag: each gets Harbor's 412 and the tag still names the first image; a
// tag no rule holds moves freely, and a new immutable tag may be pushed.
func TestImmutableTagsWithRealClients(t *testing.T) {
	a := startAuthApp(t)
	e2eCreateProject(t, a, "rel", false)
	e2eImmutableRule(t, a, "rel", "v*")
	first := e2ePushRandom(t, a, "rel/app:v1")
	second := e2ePushRandom(t, a, "rel/app:latest")
	other := writeRandomImage(t)
	ref := a.host + "/rel/app:v1"

	out, err := a.tool(t, "crane", "push", "--insecure", other, ref)
	require.Error(t, err, "crane overwrote an immutable tag: %s", out)
	assert.Contains(t, out, immutableMessage)
	out, err = a.tool(t, "crane", "tag", "--insecure", a.host+"/rel/app@"+second.String(), "v1")
	require.Error(t, err, "crane moved an immutable tag: %s", out)
	assert.Contains(t, out, immutableMessage)
	out, err = a.tool(t, "crane", "delete", "--insecure", a.host+"/rel/app@"+first.String())
	require.Error(t, err, "crane deleted the artifact of an immutable tag: %s", out)
	assert.Contains(t, out, immutableMessage)
	out, err = a.tool(t, "skopeo", "copy", "--dest-tls-verify=false", "docker-archive:"+other, "docker://"+ref)
	require.Error(t, err, "skopeo overwrote an immutable tag: %s", out)
	assert.Contains(t, out, immutableMessage)
	out, err = a.tool(t, "skopeo", "delete", "--tls-verify=false", "docker://"+ref)
	require.Error(t, err, "skopeo deleted an immutable tag: %s", out)
	assert.Contains(t, out, immutableMessage)
	// What the clients saw is Harbor's 412.
	for _, method := range []string{http.MethodDelete, http.MethodPut} {
		target := "/v2/rel/app/manifests/" + first.String()
		if method == http.MethodPut {
			target = "/v2/rel/app/manifests/v1"
		}
		r := e2eDo(t, a, "admin", e2eAdminPassword, method, target, nil)
		if method == http.MethodPut { // the manifest of latest, under v1
			mf := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/rel/app/manifests/latest", nil,
				"Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
			require.Equal(t, http.StatusOK, mf.status)
			r = e2eDoRaw(t, a, method, target, mf.body, mf.header.Get("Content-Type"))
		}
		assert.Equal(t, http.StatusPreconditionFailed, r.status, "%s %s: %s", method, target, r)
	}

	r := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodDelete, api.BasePath+"/projects/rel/repositories/app/artifacts/v1/tags/v1", nil)
	assert.Equal(t, http.StatusPreconditionFailed, r.status, "%s", r)
	_, msg := r.harborError()
	assert.Contains(t, msg, immutableMessage)
	r = e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet,
		api.BasePath+"/projects/rel/repositories/app/artifacts/v1?with_immutable_status=true", nil)
	require.Equal(t, http.StatusOK, r.status)
	art := e2eJSON[api.Artifact](t, r)
	require.Len(t, art.Tags, 1)
	assert.True(t, art.Tags[0].Immutable)

	d, err := remote.Head(mustRef(t, ref), e2eRemoteOptions(t, "admin", e2eAdminPassword)...)
	require.NoError(t, err)
	assert.Equal(t, first, d.Digest, "v1 still names the first image")

	// Tags no rule holds move; new immutable tags are pushed.
	out, err = a.tool(t, "crane", "push", "--insecure", other, a.host+"/rel/app:latest")
	require.NoError(t, err, "%s", out)
	out, err = a.tool(t, "skopeo", "copy", "--dest-tls-verify=false", "docker-archive:"+other, "docker://"+a.host+"/rel/app:v2")
	require.NoError(t, err, "%s", out)
	// Pushing the same image to its immutable tag again changes nothing
	// and is allowed (a retried push).
	out, err = a.tool(t, "crane", "copy", "--insecure", a.host+"/rel/app:v2", a.host+"/rel/app:v2")
	require.NoError(t, err, "%s", out)
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	require.NoError(t, err)
	return r
}

// Replication into a destination tag that a rule there makes immutable is
// refused: the task fails at once (a 412 is not retried) and its log says
// why; the destination keeps its image.
func TestReplicationIntoAnImmutableTagIsRefused(t *testing.T) {
	src, dst := startAuthApp(t), startAuthApp(t)
	for _, a := range []*authApp{src, dst} {
		e2eCreateProject(t, a, "rel", false)
	}
	e2eImmutableRule(t, dst, "rel", "v*")
	loc := e2eAdmin(t, src, http.MethodPost, "/registries", api.Registry{Name: "dst", URL: dst.srv.URL,
		Credential: &api.RegistryCredential{Type: "basic", AccessKey: "admin", AccessSecret: e2eAdminPassword}},
		http.StatusCreated).header.Get("Location")
	regID := idFrom(t, []byte(loc))
	loc = e2eAdmin(t, src, http.MethodPost, "/replication/policies", api.ReplicationPolicy{Name: "to-dst",
		DestRegistry: &api.RegistryRef{ID: regID}, Trigger: &api.ReplicationTrigger{Type: "manual"}, Override: true, Enabled: true,
		Filters: []api.ReplicationFilter{{Type: "name", Value: "rel/**"}}}, http.StatusCreated).header.Get("Location")
	policyID := idFrom(t, []byte(loc))
	replicate := func() (api.ReplicationExecution, []api.ReplicationTask) {
		t.Helper()
		loc := e2eAdmin(t, src, http.MethodPost, "/replication/executions", api.StartReplicationExecution{PolicyID: policyID},
			http.StatusCreated).header.Get("Location")
		path := "/replication/executions/" + strconv.FormatInt(idFrom(t, []byte(loc)), 10)
		var e api.ReplicationExecution
		waitFor(t, time.Minute, "the replication execution ends", func() bool {
			e = e2eJSON[api.ReplicationExecution](t, e2eAdmin(t, src, http.MethodGet, path, nil, http.StatusOK))
			return e.Status != "InProgress"
		})
		return e, e2eJSON[[]api.ReplicationTask](t, e2eAdmin(t, src, http.MethodGet, path+"/tasks", nil, http.StatusOK))
	}

	first := e2ePushRandom(t, src, "rel/app:v1")
	e, _ := replicate()
	require.Equal(t, "Succeed", e.Status, "%+v", e)
	require.True(t, e2eManifestExists(t, dst, "rel/app", first.String()))

	img, err := random.Image(512, 1)
	require.NoError(t, err)
	require.NoError(t, remote.Write(mustRef(t, src.host+"/rel/app:v1"), img, e2eRemoteOptions(t, "admin", e2eAdminPassword)...))
	start := time.Now()
	e, tasks := replicate()
	assert.Equal(t, "Failed", e.Status, "%+v", e)
	assert.Less(t, time.Since(start), 20*time.Second, "a refusal is not retried with backoff")
	require.Len(t, tasks, 1)
	assert.Equal(t, "Failed", tasks[0].Status)
	logPath := "/replication/executions/" + strconv.FormatInt(e.ID, 10) + "/tasks/" + strconv.FormatInt(tasks[0].ID, 10) + "/log"
	log := string(e2eAdmin(t, src, http.MethodGet, logPath, nil, http.StatusOK).body)
	assert.Contains(t, log, immutableMessage)
	assert.Contains(t, log, "412")

	d, err := remote.Head(mustRef(t, dst.host+"/rel/app:v1"), e2eRemoteOptions(t, "admin", e2eAdminPassword)...)
	require.NoError(t, err)
	assert.Equal(t, first, d.Digest, "the destination keeps its image")
}

// e2eDoRaw sends body as it is, with contentType, as admin.
func e2eDoRaw(t *testing.T, a *authApp, method, path string, body []byte, contentType string) e2eResp {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e2eRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth("admin", e2eAdminPassword)
	resp, err := a.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return e2eResp{status: resp.StatusCode, header: resp.Header, body: b}
}
