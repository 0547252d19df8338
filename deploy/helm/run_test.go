package helm

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/internal/s3test"
	"github.com/berthlabs/berth/internal/testproc"
)

// runTimeout bounds waits on the started server.
const runTimeout = 30 * time.Second

// started is the server the rendered pod runs, on this machine.
type started struct {
	t        *testing.T
	pod      *localPod
	ctr      corev1.Container
	addr     string // 127.0.0.1:port read from its log
	proc     *testproc.Proc
	client   *http.Client
	svcHost  string // the Service's cluster DNS name and port
	objs     []object
	clusterR cluster
}

// startRendered starts the server the workload's pod template describes.
// The chart listens on :5000 (BERTH_ADDR); parallel tests may hold that
// port, so "-addr 127.0.0.1:0" is appended (flags win over the
// environment) and the real port is read from the server's log.
func startRendered(t *testing.T, objs []object, given map[string]map[string][]byte) *started {
	t.Helper()
	bin, err := serverBinary()
	require.NoError(t, err)
	spec, claims := workload(t, objs)
	cl := newCluster(t, objs, given)
	ctr := serverContainer(t, spec)
	pod := mapPod(t, cl, spec, ctr, claims)
	s := &started{t: t, pod: pod, ctr: ctr, objs: objs, clusterR: cl, client: &http.Client{Timeout: 5 * time.Second},
		svcHost: "r-berth.registry.svc:5000"}
	logPath := filepath.Join(t.TempDir(), "server.log")
	s.proc = testproc.Start(t, testproc.Spec{Name: "berth", Stdout: logPath, Stderr: logPath,
		Cmd: func() *exec.Cmd {
			cmd := exec.Command(bin, append(pod.args, "-addr", "127.0.0.1:0")...)
			cmd.Env = pod.env
			return cmd
		},
		Ready: func() (err error) {
			s.addr, err = listenAddr(logPath)
			return err
		}})
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log:\n%s", b)
		}
	})
	return s
}

// workload returns the pod template of the StatefulSet or Deployment and
// its claim names.
func workload(t *testing.T, objs []object) (corev1.PodSpec, []string) {
	t.Helper()
	for _, o := range objs {
		switch o.Kind {
		case "StatefulSet":
			var sts appsv1.StatefulSet
			decodeInto(t, o, &sts)
			var claims []string
			for _, c := range sts.Spec.VolumeClaimTemplates {
				claims = append(claims, c.Name)
			}
			return sts.Spec.Template.Spec, claims
		case "Deployment":
			var d appsv1.Deployment
			decodeInto(t, o, &d)
			return d.Spec.Template.Spec, nil
		}
	}
	t.Fatal("no workload rendered")
	return corev1.PodSpec{}, nil
}

// probe asks what the rendered probe asks, at the port it names: the
// named container port must be the one BERTH_ADDR listens on, which the
// test moved to the started server's port.
func (s *started) probe(p *corev1.Probe) int {
	s.t.Helper()
	require.NotNil(s.t, p.HTTPGet)
	port := p.HTTPGet.Port.IntValue()
	for _, cp := range s.ctr.Ports {
		if cp.Name == p.HTTPGet.Port.String() {
			port = int(cp.ContainerPort)
		}
	}
	require.Equal(s.t, fmt.Sprintf(":%d", port), s.pod.getenv("BERTH_ADDR"),
		"the probe's port is the one the server listens on")
	u := fmt.Sprintf("%s://%s%s", strings.ToLower(string(p.HTTPGet.Scheme)), s.addr, p.HTTPGet.Path)
	resp, err := s.client.Get(u)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitProbe waits until the probe answers want.
func (s *started) waitProbe(p *corev1.Probe, want int, what string) {
	s.t.Helper()
	deadline := time.Now().Add(runTimeout)
	for got := s.probe(p); got != want; got = s.probe(p) {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s %s: %d, want %d", what, p.HTTPGet.Path, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// selftest runs the helm test pod's command against the started server.
// Its -url (and the token realm, from external_url) name the Service;
// an HTTP proxy stands in for the cluster's DNS and routes that name,
// and only that name, to the started server.
func (s *started) selftest() (int, string) {
	s.t.Helper()
	var pod corev1.Pod
	decodeInto(s.t, find(s.t, s.objs, "Pod", "r-berth-selftest"), &pod)
	target, err := url.Parse("http://" + s.addr)
	require.NoError(s.t, err)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
	}}
	dns := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host != s.svcHost {
			http.Error(w, "no such host in the cluster: "+r.URL.Host, http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer dns.Close()
	bin, err := serverBinary()
	require.NoError(s.t, err)
	ctr := pod.Spec.Containers[0]
	local := mapPod(s.t, s.clusterR, pod.Spec, ctr, nil)
	ctx, cancel := context.WithTimeout(s.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, local.args...)
	cmd.Env = append(local.env, "HTTP_PROXY="+dns.URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String()
}

// The default chart (embedded mode) runs as rendered: its probes answer
// 200 and its helm test passes.
func TestRenderedEmbeddedPodRuns(t *testing.T) {
	s := startRendered(t, render(t, nil), nil)
	assert.Equal(t, http.StatusOK, s.probe(s.ctr.LivenessProbe), "liveness")
	s.waitProbe(s.ctr.ReadinessProbe, http.StatusOK, "readiness")
	assert.Equal(t, http.StatusOK, s.probe(s.ctr.StartupProbe), "startup")
	assert.FileExists(t, filepath.Join(s.pod.mounts["/var/lib/berth"], "berth.db"), "SQLite lives on the claim")
	code, out := s.selftest()
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "berth selftest: ok: pushed, pulled and compared r-berth.registry.svc:5000/library/berth-selftest@sha256:")
}

// Scale-out mode on a real PostgreSQL and a real S3 (versitygw), with
// the database URL and S3 keys from "existing" Secrets: the probes answer
// 200; while PostgreSQL is down readiness is 503 and liveness stays 200;
// readiness is 200 again once it is back; the helm test passes.
func TestRenderedScaleOutPodRuns(t *testing.T) {
	pg := pgtest.Start(t)
	s3 := s3test.Start(t)
	values := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(values, []byte(fmt.Sprintf(`mode: scaleout
replicas: 1
database:
  existingSecret: berth-postgres
s3:
  bucket: %s
  endpoint: %s
  region: %s
  pathStyle: true
  existingSecret: berth-s3
  cache:
    enabled: true
`, s3.Bucket, s3.URL, s3.Region)), 0o600))
	s := startRendered(t, render(t, []string{values}), map[string]map[string][]byte{
		"berth-postgres": {"url": []byte(pg.Database(t))},
		"berth-s3":       {"access-key": []byte(s3.AccessKey), "secret-key": []byte(s3.SecretKey)},
	})
	live, ready := s.ctr.LivenessProbe, s.ctr.ReadinessProbe
	assert.Equal(t, http.StatusOK, s.probe(live), "liveness")
	s.waitProbe(ready, http.StatusOK, "readiness")
	assert.FileExists(t, filepath.Join(s.pod.mounts["/etc/berth/secret"], "secret.key"))

	pg.Restart(t, func() {
		s.waitProbe(ready, http.StatusServiceUnavailable, "readiness while PostgreSQL is down")
		assert.Equal(t, http.StatusOK, s.probe(live), "liveness while PostgreSQL is down: no restart")
	})
	s.waitProbe(ready, http.StatusOK, "readiness once PostgreSQL is back")
	assert.Equal(t, http.StatusOK, s.probe(live))

	code, out := s.selftest()
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "berth selftest: ok:")
}

// The server accepts the berth.yaml each values file renders: it refuses
// unknown keys, so every key the chart writes is one the server has.
func TestRenderedConfigLoads(t *testing.T) {
	bin, err := serverBinary()
	require.NoError(t, err)
	for _, f := range append([]string{""}, ciValues(t)...) {
		var vals []string
		if f != "" {
			vals = []string{f}
		}
		var cm corev1.ConfigMap
		decodeInto(t, find(t, render(t, vals), "ConfigMap", "r-berth"), &cm)
		file := filepath.Join(t.TempDir(), "berth.yaml")
		require.NoError(t, os.WriteFile(file, []byte(cm.Data["berth.yaml"]), 0o600))
		out, err := exec.CommandContext(t.Context(), bin, "config", "print", "-config", file).CombinedOutput()
		require.NoError(t, err, "%s: server config print:\n%s", f, out)
	}
}
