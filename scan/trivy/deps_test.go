package trivy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heavyPrefixes are import paths that must stay out of a program that
// imports berth's lower packages.
var heavyPrefixes = []string{
	"github.com/aquasecurity/",
	"k8s.io/",
	"sigs.k8s.io/",
	"github.com/docker/",
	"github.com/moby/",
}

// goList runs `go list -deps` on the packages in dir and returns the
// non-standard import paths. It resolves modules the way a build there
// would, through the configured module proxy: what the module cache happens
// to hold from earlier builds (the workspace selects other versions than a
// standalone module) must not decide whether the test passes.
func goList(t *testing.T, dir string, env []string, pkgs ...string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// The go command may fetch modules (through the module proxy, as any
	// build would): not through the closed proxy TestMain sets for Trivy.
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); !slices.Contains(proxyVars, k) || v != closedProxy {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.Fields(string(out))
}

func heavy(deps []string) []string {
	var out []string
	for _, d := range deps {
		for _, p := range heavyPrefixes {
			if strings.HasPrefix(d, p) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// consumerDeps lists what a consumer module importing pkgs of berth
// compiles: outside the workspace, as a consumer's own module, whose
// versions are those berth's go.mod requires, fetched if this machine
// lacks them.
func consumerDeps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	dir := t.TempDir()
	gomod := "module example.com/consumer\n\ngo 1.26.0\n\n" +
		"require github.com/berthlabs/berth v0.0.0\n\n" +
		"replace github.com/berthlabs/berth => " + root + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	var imports strings.Builder
	for _, p := range pkgs {
		imports.WriteString("\t_ \"github.com/berthlabs/berth/" + p + "\"\n")
	}
	main := "package main\n\nimport (\n" + imports.String() + ")\n\nfunc main() {}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644))
	deps := goList(t, dir, []string{"GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false"}, ".")
	for _, p := range pkgs {
		require.Contains(t, deps, "github.com/berthlabs/berth/"+p)
	}
	t.Logf("a consumer of %v compiles %d non-standard packages", pkgs, len(deps))
	return deps
}

// A consumer module importing registry, rbac and storage compiles no
// Trivy, Kubernetes or Docker package: scan/trivy is a module of its own.
func TestConsumerDepsStayLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	deps := consumerDeps(t, "rbac", "registry", "storage", "storage/filesystem", "storage/memory")
	assert.Empty(t, heavy(deps), "heavy packages in a registry/rbac/storage consumer")
}

// An embedder of the whole server compiles no Trivy, no Kubernetes client
// and no Docker engine: the binary plugs Trivy in. (go-containerregistry's
// reader of Docker's config file and a YAML library from sigs.k8s.io come
// with image and chart handling, and are small.)
func TestServerConsumerDepsStayLight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	deps := consumerDeps(t, "server")
	var banned []string
	for _, d := range deps {
		for _, p := range []string{"github.com/aquasecurity/", "k8s.io/", "sigs.k8s.io/controller-runtime",
			"github.com/docker/docker/", "github.com/moby/", "helm.sh/helm/v3/pkg/repo", "helm.sh/helm/v3/pkg/action"} {
			if strings.HasPrefix(d, p) {
				banned = append(banned, d)
			}
		}
	}
	assert.Empty(t, banned, "heavy packages in a server consumer")
}

// The scanner module links Trivy's scanning packages but not its CLI: the
// version check (which also carries Trivy's telemetry) lives in
// pkg/notification and is not in the binary at all, nor are the CLI
// commands, the Kubernetes scanner, the RPC server and WASM modules.
func TestScannerDepsLeaveOutCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	// In the workspace, as the reference server links it.
	deps := goList(t, ".", []string{"GOEXPERIMENT=jsonv2"}, ".")
	require.NotEmpty(t, heavy(deps), "the check must see Trivy here")
	for _, d := range deps {
		for _, banned := range []string{
			"github.com/aquasecurity/trivy/pkg/commands",
			"github.com/aquasecurity/trivy/pkg/notification",
			"github.com/aquasecurity/trivy/pkg/k8s",
			"github.com/aquasecurity/trivy/pkg/rpc/server",
			"github.com/aquasecurity/trivy/pkg/module",
		} {
			assert.False(t, d == banned || strings.HasPrefix(d, banned+"/"), "scanner links %s", d)
		}
	}
}
