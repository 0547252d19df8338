package server

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// masked replaces a secret's value when the configuration is printed.
const masked = "********"

// WriteYAML writes c as a configuration file, each key with its help as a
// comment and its environment variable; secrets that are set are masked,
// so the output can be shared. A file it writes (secrets aside) loads back
// to c.
func (c Config) WriteYAML(w io.Writer) error {
	var b strings.Builder
	writeSection(&b, reflect.ValueOf(&c).Elem(), "", 0)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSection(b *strings.Builder, v reflect.Value, prefix string, depth int) {
	indent := strings.Repeat("  ", depth)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		key := f.Tag.Get("yaml")
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct {
			fmt.Fprintf(b, "\n%s%s:\n", indent, key)
			writeSection(b, fv, prefix+key+".", depth+1)
			continue
		}
		s := setting{key: prefix + key}
		fmt.Fprintf(b, "%s# %s [%s, -%s]\n", indent, f.Tag.Get("help"), s.envName(), s.flagName())
		val := fv.Interface()
		if f.Tag.Get("secret") == "true" && fv.String() != "" {
			val = masked
		}
		fmt.Fprintf(b, "%s%s: %s\n", indent, key, yamlScalar(val))
	}
}

// yamlScalar formats one value as YAML: durations as "90s", lists in
// flow style.
func yamlScalar(v any) string {
	switch x := v.(type) {
	case fmt.Stringer:
		v = x.String()
	case []string:
		if x == nil {
			x = []string{}
		}
		out, _ := yaml.Marshal(x)
		if len(x) > 0 {
			quoted := make([]string, len(x))
			for i, s := range x {
				quoted[i] = strings.TrimSpace(yamlScalar(s))
			}
			return "[" + strings.Join(quoted, ", ") + "]"
		}
		return strings.TrimSpace(string(out))
	}
	out, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(out))
}

// ExampleConfigHeader starts berth.example.yaml, the annotated default
// configuration in the repository.
const ExampleConfigHeader = `# berth configuration: every key with its default. Pass the file with
# -config berth.yaml (or BERTH_CONFIG). Each key can also be set by an
# environment variable (in brackets) or a flag; flags win over the
# environment, which wins over this file. Durations are written 90s, 30m,
# 24h. Keep secrets (admin_password, ldap.bind_password,
# scan.adapter_token) in the environment rather than here.
`
