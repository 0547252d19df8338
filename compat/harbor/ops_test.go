package harbor_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const (
	swaggerFile   = "testdata/harbor-swagger.yaml"
	notServedFile = "testdata/not-served.txt"
)

// harborOp is one operation of Harbor's swagger.
type harborOp struct {
	ID, Tag, Method, Path string
}

// key is where the operation lives, with parameter names erased: Harbor
// and berth name the same wildcard differently ({user_id}, {username}).
func (o harborOp) key() string { return opKey(o.Method, o.Path) }

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// opKey normalises a method and a path template: wildcards become {},
// a trailing slash goes (Harbor's /metadatas/).
func opKey(method, path string) string {
	path = wildcard.ReplaceAllString(path, "{}")
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return strings.ToUpper(method) + " " + path
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}

// harborOps reads every operation of the vendored swagger, by operationId.
func harborOps(t testing.TB) map[string]harborOp {
	t.Helper()
	raw, err := os.ReadFile(swaggerFile)
	require.NoError(t, err)
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	ops := map[string]harborOp{}
	keys := map[string]string{}
	for path, methods := range doc.Paths {
		for method, node := range methods {
			if !httpMethods[method] {
				continue // path-level parameters
			}
			var op struct {
				ID   string   `yaml:"operationId"`
				Tags []string `yaml:"tags"`
			}
			require.NoError(t, node.Decode(&op), "%s %s", method, path)
			require.NotEmpty(t, op.ID, "%s %s has no operationId", method, path)
			o := harborOp{ID: op.ID, Method: strings.ToUpper(method), Path: path}
			if len(op.Tags) > 0 {
				o.Tag = op.Tags[0]
			}
			_, dup := ops[o.ID]
			require.False(t, dup, "operationId %s twice", o.ID)
			other, clash := keys[o.key()]
			require.False(t, clash, "%s and %s normalise to %s", o.ID, other, o.key())
			ops[o.ID], keys[o.key()] = o, o.ID
		}
	}
	return ops
}

// servedOps reads berth's served OpenAPI document: operationId by
// normalised key.
func servedOps(t testing.TB) map[string]string {
	t.Helper()
	resp, err := http.Get(serverURL + "/api/v2.0/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc struct {
		Paths map[string]map[string]struct {
			ID string `json:"operationId"`
		} `json:"paths"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	served := map[string]string{}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			if httpMethods[method] {
				served[opKey(method, path)] = op.ID
			}
		}
	}
	return served
}

// TestOperationsServed compares Harbor's operations with the ones berth's
// OpenAPI document serves. The ones not served, each with the reason why,
// are testdata/not-served.txt; -update rewrites its list, keeping reasons.
func TestOperationsServed(t *testing.T) {
	ops := harborOps(t)
	require.Len(t, ops, 203, "Harbor v2.0 API of go-client v0.213.1")
	served := servedOps(t)

	var missing []harborOp
	for _, o := range ops {
		id, ok := served[o.key()]
		switch {
		case !ok:
			missing = append(missing, o)
		case id != o.ID:
			t.Errorf("%s %s: berth serves it as operationId %q, Harbor names it %q", o.Method, o.Path, id, o.ID)
		}
	}
	sortOps(missing)
	var report strings.Builder
	for _, o := range missing {
		fmt.Fprintf(&report, "  %-16s %-36s %s %s\n", o.Tag, o.ID, o.Method, o.Path)
	}
	t.Logf("berth serves %d of Harbor's %d operations; not served (%d):\n%s",
		len(ops)-len(missing), len(ops), len(missing), report.String())

	reasons := readReasons(t, notServedFile)
	if *update {
		writeReasons(t, notServedFile, notServedHeader, missing, reasons)
		return
	}
	want := map[string]bool{}
	for _, o := range missing {
		want[o.ID] = true
		switch r, ok := reasons[o.ID]; {
		case !ok:
			t.Errorf("%s (%s %s) is not served: explain why in %s (go test -run TestOperationsServed -update adds it)",
				o.ID, o.Method, o.Path, notServedFile)
		case r == "" || strings.HasPrefix(r, unexplainedReason):
			t.Errorf("%s: %s gives no reason why it is not served", o.ID, notServedFile)
		}
	}
	for id := range reasons {
		if _, known := ops[id]; !known {
			t.Errorf("%s: %s names an operation Harbor does not have", id, notServedFile)
		} else if !want[id] {
			t.Errorf("%s is served now: remove it from %s (or go test -run TestOperationsServed -update)", id, notServedFile)
		}
	}
}

const notServedHeader = `# Harbor operations berth's OpenAPI document does not serve, by tag:
# operationId<TAB>why. TestOperationsServed checks this list; after a
# change, go test -run TestOperationsServed -update rewrites the list
# and keeps the reasons (a new entry says UNEXPLAINED until a reason is written).`

// sortedOps lists ops by tag, then operationId.
func sortedOps(ops map[string]harborOp) []harborOp {
	list := make([]harborOp, 0, len(ops))
	for _, o := range ops {
		list = append(list, o)
	}
	sortOps(list)
	return list
}

func sortOps(ops []harborOp) {
	sort.Slice(ops, func(i, j int) bool {
		if a, b := strings.ToLower(ops[i].Tag), strings.ToLower(ops[j].Tag); a != b {
			return a < b
		}
		return ops[i].ID < ops[j].ID
	})
}
