package replicate_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/chart"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/storage/memory"
)

// helmChart packages a minimal chart; extra lands in its values.yaml, to
// make archives of one version differ.
func helmChart(t *testing.T, name, version, extra string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range []struct{ path, body string }{
		{"Chart.yaml", fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ntype: application\n", name, version)},
		{"values.yaml", "extra: " + fmt.Sprintf("%q", extra) + "\n"},
	} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name + "/" + f.path, Mode: 0o644, Size: int64(len(f.body)),
			Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}))
		_, err := tw.Write([]byte(f.body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// chartPeer is a chart repository served over HTTP as berth serves it
// (the chart package's handler, the ChartMuseum API under Harbor's
// paths), with Basic credentials when user is set, Harbor's project
// listing, and a switch that corrupts the archives it sends.
type chartPeer struct {
	repo    *chart.Repo
	url     string
	user    string
	corrupt atomic.Bool
}

func newChartPeer(t *testing.T, user string, projects ...string) *chartPeer {
	t.Helper()
	repo, err := chart.New(context.Background(), memory.New(), nil)
	require.NoError(t, err)
	p := &chartPeer{repo: repo, user: user}
	h := repo.Handler(chart.AllowAll)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); user != "" && (!ok || u != user || pw != "secret") {
			w.Header().Set("WWW-Authenticate", `Basic realm="peer"`)
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/api/v2.0/projects" {
			var out []map[string]string
			if r.URL.Query().Get("page") == "1" {
				for _, name := range projects {
					out = append(out, map[string]string{"name": name})
				}
			}
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		if p.corrupt.Load() && strings.HasSuffix(r.URL.Path, ".tgz") {
			_, _ = w.Write(helmChart(t, "web", "1.0.0", "tampered"))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// transport sends every request to p, whatever its URL: the local chart
// handler, as a server wires it in-process.
func (p *chartPeer) transport() http.RoundTripper {
	return roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = "http", strings.TrimPrefix(p.url, "http://")
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (p *chartPeer) upload(t *testing.T, project string, archive, prov []byte, force bool) {
	t.Helper()
	var pr io.Reader
	if prov != nil {
		pr = bytes.NewReader(prov)
	}
	_, err := p.repo.Upload(context.Background(), project, bytes.NewReader(archive), pr, force)
	require.NoError(t, err)
}

func (p *chartPeer) file(t *testing.T, project, file string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.url+"/chartrepo/"+project+"/charts/"+file, nil)
	require.NoError(t, err)
	if p.user != "" {
		req.SetBasicAuth(p.user, "secret")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// runPolicy creates a policy and runs it once.
func runPolicy(t *testing.T, l *local, p replicate.Policy) (*replicate.Execution, []replicate.Task) {
	t.Helper()
	ctx := context.Background()
	p.Enabled, p.Trigger = true, replicate.TriggerManual
	if p.Name == "" {
		p.Name = fmt.Sprintf("p%d", time.Now().UnixNano())
	}
	pid, err := l.svc.CreatePolicy(ctx, p)
	require.NoError(t, err)
	return rerun(t, l, pid)
}

func rerun(t *testing.T, l *local, pid int64) (*replicate.Execution, []replicate.Task) {
	t.Helper()
	ctx := context.Background()
	eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
	require.NoError(t, err)
	e := waitExec(t, l.svc, eid, 30*time.Second)
	tasks, _, err := l.svc.Tasks(ctx, eid, core.Page{Limit: 100})
	require.NoError(t, err)
	return e, tasks
}

func taskLog(t *testing.T, l *local, task replicate.Task) string {
	t.Helper()
	s, err := l.svc.TaskLog(context.Background(), task.ExecutionID, task.ID)
	require.NoError(t, err)
	return s
}

var chartsOnly = replicate.Filter{Type: replicate.FilterResource, Value: "chart"}

func TestReplicateChartsPush(t *testing.T) {
	ctx := context.Background()
	localCharts := newChartPeer(t, "")
	l := newLocal(t, "sqlite", replicate.WithLocalCharts(localCharts.transport(),
		func(context.Context) ([]string, error) { return []string{"team", "other"}, nil }))
	remote := newChartPeer(t, "robot")
	web1, web1prov := helmChart(t, "web", "1.0.0", "a"), []byte("-----BEGIN PGP SIGNED MESSAGE-----\nnot verified here\n")
	web11 := helmChart(t, "web", "1.1.0", "a")
	localCharts.upload(t, "team", web1, web1prov, false)
	localCharts.upload(t, "team", web11, nil, false)
	localCharts.upload(t, "team", helmChart(t, "db", "2.0.0", "a"), nil, false)
	localCharts.upload(t, "other", helmChart(t, "x", "1.0.0", "a"), nil, false)
	epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "remote", URL: remote.url, Username: "robot", Password: "secret"})
	require.NoError(t, err)

	// Without a resource filter a policy replicates artifacts only.
	e, tasks := runPolicy(t, l, replicate.Policy{Mode: replicate.Push, RemoteID: epID})
	require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
	assert.Empty(t, tasks)

	// Charts of team whose version is 1.*: web 1.0.0 (with its .prov) and 1.1.0.
	policy := replicate.Policy{Mode: replicate.Push, RemoteID: epID, Filters: []replicate.Filter{chartsOnly,
		{Type: replicate.FilterName, Value: "team/*"}, {Type: replicate.FilterTag, Value: "1.*"}}}
	e, tasks = runPolicy(t, l, policy)
	require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
	require.Len(t, tasks, 2)
	for _, task := range tasks {
		assert.Equal(t, replicate.ResourceChart, task.ResourceType)
		assert.Equal(t, replicate.StatusSucceed, task.Status, taskLog(t, l, task))
	}
	assert.ElementsMatch(t, []string{"team/web:1.0.0@sha256:" + sha(web1), "team/web:1.1.0@sha256:" + sha(web11)},
		[]string{tasks[0].SrcResource, tasks[1].SrcResource})
	assert.Equal(t, web1, remote.file(t, "team", "web-1.0.0.tgz"))
	assert.Equal(t, web1prov, remote.file(t, "team", "web-1.0.0.tgz.prov"))
	assert.Equal(t, web11, remote.file(t, "team", "web-1.1.0.tgz"))
	assert.Nil(t, remote.file(t, "team", "db-2.0.0.tgz"), "the tag filter left it out")
	assert.Nil(t, remote.file(t, "other", "x-1.0.0.tgz"), "the name filter left it out")
	assert.Equal(t, int64(len(web1)+len(web1prov)+len(web11)), e.Bytes)

	// Again: nothing moves.
	pols, _, err := l.svc.Policies(ctx, "", core.Page{Limit: 10})
	require.NoError(t, err)
	pid := pols[len(pols)-1].ID
	e, tasks = rerun(t, l, pid)
	require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
	assert.Zero(t, e.Bytes)
	assert.Contains(t, taskLog(t, l, tasks[0]), "already at the destination")

	// The destination holds other bytes under 1.1.0: kept, and the task
	// says so and fails.
	other := helmChart(t, "web", "1.1.0", "theirs")
	remote.upload(t, "team", other, nil, true)
	e, tasks = rerun(t, l, pid)
	require.Equal(t, replicate.StatusFailed, e.Status, e.StatusText)
	assert.Equal(t, 1, e.Failed)
	assert.Equal(t, other, remote.file(t, "team", "web-1.1.0.tgz"), "never overwritten silently")
	var failed replicate.Task
	for _, task := range tasks {
		if task.Status == replicate.StatusFailed {
			failed = task
		}
	}
	assert.Contains(t, taskLog(t, l, failed), "another digest")
	assert.Equal(t, 1, failed.Attempts, "a conflict is not retried")

	// With override the source's archive replaces it.
	pol, err := l.svc.Policy(ctx, pid)
	require.NoError(t, err)
	pol.Override = true
	require.NoError(t, l.svc.UpdatePolicy(ctx, *pol))
	e, _ = rerun(t, l, pid)
	require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
	assert.Equal(t, web11, remote.file(t, "team", "web-1.1.0.tgz"))

	// A destination namespace that would rename the chart or nest it is
	// refused per task.
	e, tasks = runPolicy(t, l, replicate.Policy{Mode: replicate.Push, RemoteID: epID, DestNamespace: "a/b",
		DestNamespaceReplace: 1, Filters: []replicate.Filter{chartsOnly, {Type: replicate.FilterName, Value: "other/**"}}})
	require.Equal(t, replicate.StatusFailed, e.Status)
	require.Len(t, tasks, 1)
	assert.Contains(t, taskLog(t, l, tasks[0]), "not project/chart")
}

func TestReplicateChartsPull(t *testing.T) {
	ctx := context.Background()
	localCharts := newChartPeer(t, "")
	l := newLocal(t, "sqlite", replicate.WithLocalCharts(localCharts.transport(), nil))
	remote := newChartPeer(t, "", "lib", "empty")
	web := helmChart(t, "web", "1.0.0", "a")
	remote.upload(t, "lib", web, nil, false)
	remote.upload(t, "lib", helmChart(t, "web", "2.0.0-beta.1", "a"), nil, false)
	epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "remote", URL: remote.url})
	require.NoError(t, err)

	// No name filter: the remote's projects are listed (Harbor's project
	// API); everything lands under mirror/.
	e, tasks := runPolicy(t, l, replicate.Policy{Mode: replicate.Pull, RemoteID: epID, DestNamespace: "mirror",
		DestNamespaceReplace: 1, Filters: []replicate.Filter{{Type: replicate.FilterResource, Value: "*"}}})
	require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
	require.Len(t, tasks, 2)
	assert.ElementsMatch(t, []string{"mirror/web:1.0.0@sha256:" + sha(web), "mirror/web:2.0.0-beta.1@sha256:" + sha(helmChart(t, "web", "2.0.0-beta.1", "a"))},
		[]string{tasks[0].DstResource, tasks[1].DstResource})
	assert.Equal(t, web, localCharts.file(t, "mirror", "web-1.0.0.tgz"))
	assert.NotNil(t, localCharts.file(t, "mirror", "web-2.0.0-beta.1.tgz"))

	// An archive that does not match the source's listing is refused.
	remote.upload(t, "lib", helmChart(t, "web", "3.0.0", "a"), nil, false)
	remote.corrupt.Store(true)
	e, tasks = runPolicy(t, l, replicate.Policy{Mode: replicate.Pull, RemoteID: epID, Filters: []replicate.Filter{chartsOnly,
		{Type: replicate.FilterName, Value: "lib/web"}, {Type: replicate.FilterTag, Value: "3.*"}}})
	require.Equal(t, replicate.StatusFailed, e.Status)
	require.Len(t, tasks, 1)
	assert.Contains(t, taskLog(t, l, tasks[0]), "its listing says")
	assert.Nil(t, localCharts.file(t, "lib", "web-3.0.0.tgz"))
}

func TestReplicateChartsNeedLocalCharts(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, "sqlite")
	remote := newChartPeer(t, "")
	epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "remote", URL: remote.url})
	require.NoError(t, err)
	e, _ := runPolicy(t, l, replicate.Policy{Mode: replicate.Pull, RemoteID: epID, Filters: []replicate.Filter{chartsOnly}})
	assert.Equal(t, replicate.StatusFailed, e.Status)
	assert.Contains(t, e.StatusText, "serves no chart repositories")
}

func TestSelectsCharts(t *testing.T) {
	f := func(v, dec string) replicate.Filter {
		return replicate.Filter{Type: replicate.FilterResource, Value: v, Decoration: dec}
	}
	assert.False(t, replicate.SelectsCharts(nil))
	assert.False(t, replicate.SelectsCharts([]replicate.Filter{{Type: replicate.FilterName, Value: "**"}}))
	assert.True(t, replicate.SelectsCharts([]replicate.Filter{f("chart", "")}))
	assert.True(t, replicate.SelectsCharts([]replicate.Filter{f("*", "")}))
	assert.True(t, replicate.SelectsCharts([]replicate.Filter{f("image", replicate.Excludes)}))
	assert.False(t, replicate.SelectsCharts([]replicate.Filter{f("image", "")}))
	assert.False(t, replicate.SelectsCharts([]replicate.Filter{f("chart", replicate.Excludes)}))
	assert.True(t, replicate.MatchArtifact([]replicate.Filter{f("chart", "")}, nil, "application/vnd.cncf.helm.config.v1+json", false))
	assert.False(t, replicate.MatchArtifact([]replicate.Filter{f("chart", "")}, nil, "application/vnd.oci.image.config.v1+json", true))
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
