package adapter_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// openAPI is the published Pluggable Scanner API specification.
type openAPI struct {
	schemas map[string]any
}

func loadSpec(t testing.TB) *openAPI {
	t.Helper()
	y, err := os.ReadFile("testdata/scanner-adapter-openapi-v1.2.yaml")
	require.NoError(t, err)
	j, err := yaml.YAMLToJSON(y)
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(j, &doc))
	require.NotEmpty(t, doc.Components.Schemas)
	return &openAPI{schemas: doc.Components.Schemas}
}

// check validates a JSON document against the named component schema and
// fails the test with every violation.
func (o *openAPI) check(t testing.TB, schema string, body []byte) {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(body, &v), "%s", body)
	var errs []string
	o.validate(v, map[string]any{"$ref": "#/components/schemas/" + schema}, "$", &errs)
	require.Empty(t, errs, "%s does not match %s:\n%s", body, schema, strings.Join(errs, "\n"))
}

// validate is a small checker for the OpenAPI 3.0 schema subset the spec
// uses: $ref, type, required, properties, additionalProperties, items,
// enum and the date-time format.
func (o *openAPI) validate(v any, s map[string]any, path string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/components/schemas/")
		sub, ok := o.schemas[name].(map[string]any)
		if !found || !ok {
			fail("unresolvable $ref %q", ref)
			return
		}
		o.validate(v, sub, path, errs)
		return
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v is not one of %v", v, enum)
	}
	typ, _ := s["type"].(string)
	if typ == "" && s["properties"] != nil {
		typ = "object"
	}
	switch typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("want an object, got %T", v)
			return
		}
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				fail("missing required property %q", r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				o.validate(val, ps, path+"."+k, errs)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				o.validate(val, ap, path+"."+k, errs)
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			fail("want an array, got %T", v)
			return
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range arr {
				o.validate(it, items, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("want a string, got %T", v)
			return
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				fail("not a date-time: %q", str)
			}
		}
	case "number":
		if _, ok := v.(float64); !ok {
			fail("want a number, got %T", v)
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			fail("want an integer, got %v", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("want a boolean, got %T", v)
		}
	}
}

// The checker itself catches what it should.
func TestSchemaCheckerRejects(t *testing.T) {
	spec := loadSpec(t)
	for _, tc := range []struct{ schema, body string }{
		{"ScannerAdapterMetadata", `{"scanner":{"name":"x"}}`},
		{"ScanResponse", `{}`},
		{"HarborVulnerabilityReport", `{"severity":"Severe"}`},
		{"HarborVulnerabilityReport", `{"generated_at":"yesterday"}`},
		{"HarborVulnerabilityReport", `{"vulnerabilities":[{"preferred_cvss":{"score_v3":"9.8"}}]}`},
		{"ScanRequest", `{"registry":{"url":"http://r"},"artifact":{},"enabled_capabilities":[{"type":"magic"}]}`},
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(tc.body), &v))
		var errs []string
		spec.validate(v, map[string]any{"$ref": "#/components/schemas/" + tc.schema}, "$", &errs)
		require.NotEmpty(t, errs, "%s should not match %s", tc.body, tc.schema)
	}
}
