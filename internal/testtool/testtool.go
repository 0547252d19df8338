// Package testtool finds the real client programs tests drive (skopeo,
// crane, oras, …): on PATH or in Go's bin directories. A missing tool fails
// the test under CI=true and skips it loudly otherwise.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Require finds a client binary on PATH, in /root/go/bin or in
// $(go env GOPATH)/bin. When it is missing the test fails under CI=true
// and is skipped, loudly, otherwise.
func Require(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		for _, d := range filepath.SplitList(gp) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	dirs = append(dirs, "/root/go/bin")
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	hint := map[string]string{
		"skopeo":          "apt-get install skopeo",
		"crane":           "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1",
		"oras":            "go install oras.land/oras/cmd/oras@v1.3.6",
		"cosign":          "go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5",
		"helm":            "go install helm.sh/helm/v3/cmd/helm@v3.22.0",
		"registry":        "go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2",
		"docker-registry": "apt-get install docker-registry",
		"versitygw":       "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0",
		"initdb":          "apt-get install postgresql",
		"postgres":        "apt-get install postgresql",
		"chromium":        "apt-get install chromium",
	}[name]
	if hint == "" {
		hint = "install it"
	}
	msg := fmt.Sprintf("%s not installed (looked on PATH and in %s); run .ci/run or %s", name, strings.Join(dirs, ", "), hint)
	if os.Getenv("CI") == "true" {
		t.Fatalf("FAILING (CI=true): %s", msg)
	}
	t.Skipf("\n\n******** SKIPPING: %s ********\n\n", msg)
	return ""
}
