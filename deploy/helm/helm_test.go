package helm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/berthlabs/berth/internal/testtool"
)

// chartDir is the chart under test, relative to this package.
const chartDir = "berth"

// helmTimeout bounds one helm invocation.
const helmTimeout = time.Minute

// runHelm runs the real helm binary and returns its combined output.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := helmBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), helmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// helmBinary finds helm (internal/testtool: under CI=true a missing one
// fails the test) and checks that it is helm v3.
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := testtool.Require(t, "helm")
	out, err := exec.CommandContext(t.Context(), bin, "version", "--short").Output()
	if err != nil || !strings.HasPrefix(string(out), "v3.") {
		t.Fatalf("%s version --short: %q, %v; these tests need helm v3", bin, out, err)
	}
	return bin
}

// ciValues lists the chart's ci/*.yaml values files, one per mode or
// optional part.
func ciValues(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "the chart has ci/*.yaml values files")
	return files
}

// object is one rendered manifest: its kind and the JSON it decodes from.
type object struct {
	APIVersion, Kind, Name string
	Source                 string // the template it came from
	JSON                   []byte
}

func (o object) String() string {
	return fmt.Sprintf("%s/%s %s (%s)", o.APIVersion, o.Kind, o.Name, o.Source)
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (\S+)`)

// render runs helm template with the values files and --set pairs and
// splits its output into objects.
func render(t *testing.T, valuesFiles []string, set ...string) []object {
	t.Helper()
	args := []string{"template", "r", chartDir, "--namespace", "registry"}
	for _, f := range valuesFiles {
		args = append(args, "-f", f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := runHelm(t, args...)
	require.NoError(t, err, "helm %s:\n%s", strings.Join(args, " "), out)
	return splitManifests(t, out)
}

// splitManifests splits a YAML stream at its document separators.
func splitManifests(t *testing.T, stream string) []object {
	t.Helper()
	var objs []object
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(stream, -1) {
		if strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, "")) == "" {
			continue
		}
		js, err := yaml.YAMLToJSON([]byte(doc))
		require.NoError(t, err, "rendered YAML:\n%s", doc)
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal(js, &head))
		o := object{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name, JSON: js}
		if m := sourceLine.FindStringSubmatch(doc); m != nil {
			o.Source = m[1]
		}
		objs = append(objs, o)
	}
	return objs
}

// find returns the rendered object of that kind and name.
func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return o
		}
	}
	require.Failf(t, "object not rendered", "%s %q", kind, name)
	return object{}
}

// kinds counts the rendered objects by kind.
func kinds(objs []object) map[string]int {
	m := map[string]int{}
	for _, o := range objs {
		m[o.Kind]++
	}
	return m
}
