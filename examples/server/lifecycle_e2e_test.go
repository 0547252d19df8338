package main

// Quotas and webhooks against the real server.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/webhook"
)

// projectID reads a project's id through the API.
func (s *serverProc) projectID(t *testing.T, name string) int64 {
	t.Helper()
	var p api.Project
	require.NoError(t, json.Unmarshal(s.mustAdminAPI(t, http.MethodGet, "/projects/"+name, nil, http.StatusOK).body, &p))
	return p.ProjectID
}

func (s *serverProc) quota(t *testing.T, id int64) api.Quota {
	t.Helper()
	var q api.Quota
	require.NoError(t, json.Unmarshal(s.mustAdminAPI(t, http.MethodGet, "/quotas/"+strconv.FormatInt(id, 10), nil, http.StatusOK).body, &q))
	return q
}

// 32 concurrent image pushes into a project whose limit fits only some:
// usage never passes the limit, the refused get 403 in Harbor's words,
// and after deleting and collecting, usage is what remains.
func TestQuotaRace(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	s := startServer(t, dir, "-auth=true", "-gc-grace-window", "1s")
	s.createPrivateProject(t, "q")
	id := s.projectID(t, "q")
	const limit = 300 << 10 // about ten of the images below
	s.mustAdminAPI(t, http.MethodPut, "/quotas/"+strconv.FormatInt(id, 10), api.QuotaUpdateReq{Hard: map[string]int64{"storage": limit}},
		http.StatusOK)
	c := &loadClient{base: s.URL, client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}

	stop := make(chan struct{})
	var maxUsed atomic.Int64
	var watcher sync.WaitGroup
	watcher.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			_, _, b, err := c.do(http.MethodGet, api.BasePath+"/quotas/"+strconv.FormatInt(id, 10), nil)
			var q api.Quota
			if err == nil && json.Unmarshal(b, &q) == nil {
				for used := int64(q.Used["storage"]); used > maxUsed.Load(); {
					if maxUsed.CompareAndSwap(maxUsed.Load(), used) {
						break
					}
				}
			}
		}
	})
	var mu sync.Mutex
	var pushed []pushedImage
	refusals := 0
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			config := []byte(`{"architecture":"amd64","os":"linux","n":` + strconv.Itoa(i) + `}`)
			layer := randomBytes(30 << 10)
			img := pushedImage{repo: fmt.Sprintf("q/app%d", i%4), tag: "v" + strconv.Itoa(i), blobs: [][]byte{config, layer},
				manifest: imageManifest(t, config, layer)}
			for _, b := range img.blobs {
				if err := c.pushBlob(img.repo, b, i%2 == 0); err != nil {
					mu.Lock()
					if strings.Contains(err.Error(), "Quota exceeded when processing the request of adding") &&
						strings.Contains(err.Error(), "403") {
						refusals++
					} else {
						t.Errorf("push %d: %v", i, err)
					}
					mu.Unlock()
					return
				}
			}
			st, _, b, err := c.do(http.MethodPut, "/v2/"+img.repo+"/manifests/"+img.tag, img.manifest, "Content-Type", manifestType)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && st == http.StatusCreated:
				pushed = append(pushed, img)
			case err == nil && st == http.StatusForbidden && strings.Contains(string(b), "Quota exceeded"):
				refusals++
			default:
				t.Errorf("manifest %d: %d %s %v", i, st, b, err)
			}
		})
	}
	wg.Wait()
	close(stop)
	watcher.Wait()
	t.Logf("%d images pushed, %d refused, highest usage seen %d of %d", len(pushed), refusals, maxUsed.Load(), limit)
	require.NotEmpty(t, pushed)
	require.Positive(t, refusals, "the limit fits only some")
	assert.LessOrEqual(t, maxUsed.Load(), int64(limit), "usage never passes the limit")
	q := s.quota(t, id)
	assert.LessOrEqual(t, q.Used["storage"], limit)

	// Delete half of what was pushed and collect: usage is what remains.
	for _, img := range pushed[:len(pushed)/2] {
		st, _, b, err := c.do(http.MethodDelete, "/v2/"+img.repo+"/manifests/"+img.digest().String(), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, st, "%s", b)
	}
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, "Success", s.gcNow(t, false).JobStatus)
	want := 0
	for _, img := range pushed[len(pushed)/2:] {
		want += len(img.manifest)
		for _, b := range img.blobs {
			want += len(b)
		}
	}
	assert.Equal(t, want, s.quota(t, id).Used["storage"], "exact after deletes and GC")
}

// receiver is a webhook receiver that records verified deliveries and
// fails the first failFirst of them.
type receiver struct {
	*httptest.Server
	secret    string
	failFirst int32
	hang      chan struct{}
	seen      atomic.Int32
	mu        sync.Mutex
	bodies    [][]byte
	types     []string
	badSig    int
}

func newReceiver(t *testing.T, failFirst int32) *receiver {
	r := &receiver{failFirst: failFirst}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.hang != nil {
			<-r.hang
		}
		body, _ := io.ReadAll(req.Body)
		n := r.seen.Add(1)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !webhook.Verify([]byte(r.secret), body, req.Header.Get(webhook.HeaderSignature)) {
			r.badSig++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n <= r.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.bodies = append(r.bodies, body)
		r.types = append(r.types, req.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// Pushes reach a webhook receiver signed, in both payload formats,
// through failures (retried) and a restart, and a receiver that hangs
// does not slow pushes down.
func TestWebhooksDeliver(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BERTH_ADMIN_PASSWORD", e2eAdminPassword)
	addr := freeAddr(t)
	args := []string{"-auth=true", "-addr", addr, "-external-url", "http://" + addr, "-webhooks-retry-backoff", "1s"}
	s := startServer(t, dir, args...)
	s.createPrivateProject(t, "hooks")
	plain, cloud := newReceiver(t, 2), newReceiver(t, 0)
	create := func(name, format string, rc *receiver) {
		r := s.mustAdminAPI(t, http.MethodPost, "/projects/hooks/webhook/policies", api.WebhookPolicy{Name: name, Enabled: true,
			EventTypes: []string{"PUSH_ARTIFACT"}, Targets: []api.WebhookTarget{{Type: "http", Address: rc.URL, PayloadFormat: format}}},
			http.StatusCreated)
		var p api.WebhookPolicy
		require.NoError(t, json.Unmarshal(r.body, &p))
		require.NotEmpty(t, p.Secret, "the signing secret, shown once")
		rc.mu.Lock()
		rc.secret = p.Secret
		rc.mu.Unlock()
	}
	create("plain", "Default", plain)
	create("cloud", "CloudEvents", cloud)
	c := &loadClient{base: s.URL, client: &http.Client{Timeout: time.Minute}}
	img, err := c.pushImage(t, "hooks/app", "v1", false)
	require.NoError(t, err)

	waitFor(t, time.Minute, "both receivers get the push (plain after two failures)", func() bool {
		return plain.delivered() == 1 && cloud.delivered() == 1
	})
	var p webhook.Payload
	require.NoError(t, json.Unmarshal(plain.bodies[0], &p))
	assert.Equal(t, "PUSH_ARTIFACT", p.Type)
	assert.Equal(t, "hooks/app", p.EventData.Repository.RepoFullName)
	require.NotEmpty(t, p.EventData.Resources)
	assert.Equal(t, img.digest().String(), p.EventData.Resources[0].Digest)
	assert.Equal(t, "v1", p.EventData.Resources[0].Tag)
	var ce map[string]any
	require.NoError(t, json.Unmarshal(cloud.bodies[0], &ce))
	assert.Equal(t, "1.0", ce["specversion"])
	assert.Equal(t, "harbor.artifact.pushed", ce["type"])
	assert.Contains(t, cloud.types[0], "application/cloudevents+json")
	assert.Zero(t, plain.badSig+cloud.badSig, "every delivery verifies")
	assert.EqualValues(t, 3, plain.seen.Load(), "two failures, then success")

	// A receiver that hangs does not hold pushes; its delivery survives a
	// restart of the server.
	hanging := newReceiver(t, 0)
	hanging.hang = make(chan struct{})
	create("slow", "Default", hanging)
	start := time.Now()
	_, err = c.pushImage(t, "hooks/app", "v2", false)
	require.NoError(t, err)
	took := time.Since(start)
	t.Logf("push with a hanging receiver took %v", took)
	s.stop()
	close(hanging.hang)
	s = startServer(t, dir, args...)
	waitFor(t, time.Minute, "the hanging receiver's delivery, after the restart", func() bool { return hanging.delivered() >= 1 })
	var execs []api.WebhookExecution
	var policies []api.WebhookPolicy
	require.NoError(t, json.Unmarshal(s.mustAdminAPI(t, http.MethodGet, "/projects/hooks/webhook/policies", nil, http.StatusOK).body, &policies))
	for _, pol := range policies {
		if pol.Name != "plain" {
			continue
		}
		require.NoError(t, json.Unmarshal(s.mustAdminAPI(t, http.MethodGet,
			fmt.Sprintf("/projects/hooks/webhook/policies/%d/executions", pol.ID), nil, http.StatusOK).body, &execs))
	}
	require.NotEmpty(t, execs)
	assert.Equal(t, "Success", execs[len(execs)-1].Status, "the first delivery succeeded on its third attempt")
	assert.EqualValues(t, 3, execs[len(execs)-1].ExtraAttrs["attempts"])
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}
