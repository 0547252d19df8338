package helm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// serverBinary builds examples/server once per test run, without
// GOEXPERIMENT=jsonv2: the build without Trivy is much faster, and the
// chart's default config turns Trivy off anyway.
var serverBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "berth-helm-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/berthlabs/berth/examples/server")
	cmd.Env = append(os.Environ(), "GOEXPERIMENT=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build examples/server: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := serverBinary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// imageEnv is what the image sets (deploy/image): the binary is its
// entrypoint.
var imageEnv = []string{"BERTH_DATA=/var/lib/berth", "BERTH_ADDR=:5000"}

// localPod is a rendered container turned into a local process: its
// volumes are temp directories, and every path under a mount is rewritten
// to that directory in the arguments, the environment and the files.
type localPod struct {
	args    []string
	env     []string
	mounts  map[string]string // mount path -> local path
	rewrite *strings.Replacer
}

// cluster is what the pod's references resolve against: the rendered
// Secrets and ConfigMaps and those the test provides (existing Secrets).
type cluster struct {
	secrets    map[string]map[string][]byte
	configMaps map[string]map[string]string
}

func newCluster(t *testing.T, objs []object, given map[string]map[string][]byte) cluster {
	t.Helper()
	c := cluster{secrets: map[string]map[string][]byte{}, configMaps: map[string]map[string]string{}}
	for name, data := range given {
		c.secrets[name] = data
	}
	for _, o := range objs {
		switch o.Kind {
		case "Secret":
			var s corev1.Secret
			decodeInto(t, o, &s)
			c.secrets[s.Name] = s.Data
		case "ConfigMap":
			var cm corev1.ConfigMap
			decodeInto(t, o, &cm)
			c.configMaps[cm.Name] = cm.Data
		}
	}
	return c
}

func (c cluster) secretKey(ref *corev1.SecretKeySelector) ([]byte, error) {
	v, ok := c.secrets[ref.Name][ref.Key]
	if !ok {
		return nil, fmt.Errorf("secret %s has no key %q", ref.Name, ref.Key)
	}
	return v, nil
}

// mapPod lays out the container's volumes under a temp directory. claims
// are the workload's volumeClaimTemplates (a fresh volume each).
func mapPod(t *testing.T, cl cluster, spec corev1.PodSpec, ctr corev1.Container, claims []string) *localPod {
	t.Helper()
	root := t.TempDir()
	p := &localPod{mounts: map[string]string{}}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	files := map[string]string{} // local file -> content, written once the rewrite is known
	for i, m := range ctr.VolumeMounts {
		dir := filepath.Join(root, fmt.Sprintf("%d-%s", i, m.Name))
		require.NoError(t, os.MkdirAll(dir, 0o700))
		v, ok := vols[m.Name]
		switch {
		case !ok && slices.Contains(claims, m.Name):
		case !ok:
			t.Fatalf("mount %s: no volume %q", m.MountPath, m.Name)
		case v.EmptyDir != nil:
		case v.ConfigMap != nil:
			data, ok := cl.configMaps[v.ConfigMap.Name]
			require.True(t, ok, "configMap %s not rendered", v.ConfigMap.Name)
			for k, s := range data {
				files[filepath.Join(dir, k)] = s
			}
		case v.Secret != nil:
			data, ok := cl.secrets[v.Secret.SecretName]
			require.True(t, ok, "secret %s neither rendered nor given", v.Secret.SecretName)
			for _, it := range v.Secret.Items {
				b, ok := data[it.Key]
				require.True(t, ok, "secret %s has no key %q", v.Secret.SecretName, it.Key)
				require.NoError(t, os.WriteFile(filepath.Join(dir, it.Path), b, 0o400))
			}
			if len(v.Secret.Items) == 0 {
				for k, b := range data {
					require.NoError(t, os.WriteFile(filepath.Join(dir, k), b, 0o400))
				}
			}
		default:
			t.Fatalf("volume %s: a kind this test does not map", m.Name)
		}
		local := dir
		if m.SubPath != "" {
			local = filepath.Join(dir, m.SubPath)
		}
		p.mounts[m.MountPath] = local
	}
	// One pass, longest mount first: /var/lib/berth/cache before
	// /var/lib/berth, and never a local path (itself under /tmp) twice.
	paths := make([]string, 0, len(p.mounts))
	for mp := range p.mounts {
		paths = append(paths, mp)
	}
	slices.SortFunc(paths, func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, mp := range paths {
		pairs = append(pairs, mp, p.mounts[mp])
	}
	p.rewrite = strings.NewReplacer(pairs...)
	for f, s := range files {
		require.NoError(t, os.WriteFile(f, []byte(p.rewrite.Replace(s)), 0o600))
	}

	for _, a := range ctr.Args {
		p.args = append(p.args, p.rewrite.Replace(a))
	}
	require.Empty(t, ctr.Command, "the chart runs the image's entrypoint (the server binary)")
	env := map[string]string{}
	for _, kv := range imageEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			b, err := cl.secretKey(e.ValueFrom.SecretKeyRef)
			require.NoError(t, err, "env %s", e.Name)
			env[e.Name] = string(b)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			v, ok := cl.configMaps[ref.Name][ref.Key]
			require.True(t, ok, "env %s: configMap %s key %s", e.Name, ref.Name, ref.Key)
			env[e.Name] = v
		default:
			t.Fatalf("env %s: a source this test does not resolve", e.Name)
		}
	}
	if tmp, ok := p.mounts["/tmp"]; ok {
		env["TMPDIR"] = tmp // the pod's /tmp is its emptyDir
	}
	for k, v := range env {
		p.env = append(p.env, k+"="+p.rewrite.Replace(v))
	}
	return p
}

// getenv returns the pod's variable.
func (p *localPod) getenv(name string) string {
	for _, kv := range p.env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// listenAddr reads the "berth listening" line of a server's JSON log.
func listenAddr(logPath string) (string, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &rec) == nil && rec.Msg == "berth listening" {
			return rec.Addr, nil
		}
	}
	return "", errors.New("no \"berth listening\" line yet")
}
