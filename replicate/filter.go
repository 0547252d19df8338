package replicate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// FilterType names what a Filter looks at.
type FilterType string

// Filter types, as Harbor names them.
const (
	FilterName     FilterType = "name"     // repository name, glob
	FilterTag      FilterType = "tag"      // tag, glob
	FilterLabel    FilterType = "label"    // "key" or "key=value" of the image config's labels and the manifest's annotations; "name", also a label the local registry's artifact carries (WithSourceLabels)
	FilterResource FilterType = "resource" // artifact type, glob; "image" for container images, "chart" for chart versions (see SelectsCharts) and OCI Helm charts
)

// Decorations of a Filter.
const (
	Matches  = "matches"
	Excludes = "excludes"
)

// Filter is one rule of a policy's source selection. Within a type, an
// item passes when it matches at least one "matches" rule (if there is
// any) and no "excludes" rule; every type must pass.
//
// Globs: '*' matches any run of characters but '/', '**' any run including
// '/', '?' one character but '/', and {a,b} either alternative.
type Filter struct {
	Type       FilterType `json:"type"`
	Value      string     `json:"value"`
	Decoration string     `json:"decoration,omitempty"` // Matches (default) or Excludes
}

func (f Filter) excludes() bool { return f.Decoration == Excludes }

// ValidateFilters reports the first malformed filter.
func ValidateFilters(fs []Filter) error {
	for _, f := range fs {
		switch f.Type {
		case FilterName, FilterTag, FilterResource, FilterLabel:
		default:
			return fmt.Errorf("%w: filter type %q: want name, tag, label or resource", ErrInvalid, f.Type)
		}
		if f.Decoration != "" && f.Decoration != Matches && f.Decoration != Excludes {
			return fmt.Errorf("%w: filter decoration %q: want matches or excludes", ErrInvalid, f.Decoration)
		}
		if f.Value == "" {
			return fmt.Errorf("%w: %s filter with an empty value", ErrInvalid, f.Type)
		}
		if f.Type != FilterLabel {
			if _, err := compileGlob(f.Value); err != nil {
				return fmt.Errorf("%w: %s filter %q: %v", ErrInvalid, f.Type, f.Value, err)
			}
		}
	}
	return nil
}

// MatchRepository reports whether repository passes the name filters.
func MatchRepository(fs []Filter, repository string) bool {
	return pass(fs, FilterName, func(v string) bool { return Glob(v, repository) })
}

// MatchTag reports whether tag passes the tag filters.
func MatchTag(fs []Filter, tag string) bool {
	return pass(fs, FilterTag, func(v string) bool { return Glob(v, tag) })
}

// MatchArtifact reports whether an artifact with these labels (config
// labels and manifest annotations together) and artifact type passes the
// label and resource filters. isImage tells whether it is a container
// image (or an index of them), which the resource value "image" selects.
func MatchArtifact(fs []Filter, labels map[string]string, artifactType string, isImage bool) bool {
	return MatchLabelledArtifact(fs, labels, nil, artifactType, isImage)
}

// MatchLabelledArtifact is MatchArtifact for an artifact that also
// carries the registry labels named names (Harbor's labels, package
// label): a label filter without '=' ("prod") matches a name among them
// as well as a key of labels; a "key=value" filter matches labels only.
func MatchLabelledArtifact(fs []Filter, labels map[string]string, names []string, artifactType string, isImage bool) bool {
	return pass(fs, FilterLabel, func(v string) bool {
		k, want, hasValue := strings.Cut(v, "=")
		if !hasValue && slices.Contains(names, v) {
			return true
		}
		got, ok := labels[k]
		return ok && (!hasValue || got == want)
	}) && pass(fs, FilterResource, func(v string) bool {
		switch v {
		case "image":
			return isImage
		case ResourceChart:
			return artifactType == helmConfigType
		}
		return Glob(v, artifactType)
	})
}

// helmConfigType is the config media type (the artifact type) of an OCI
// Helm chart.
const helmConfigType = "application/vnd.cncf.helm.config.v1+json"

// SelectsCharts reports whether a policy with filters fs replicates the
// versions of classic chart repositories: it has a resource filter and
// the value "chart" passes them ("chart", "*", or only excludes of other
// types). A policy with no resource filter replicates artifacts only, as
// a registry endpoint need not serve chart repositories (Harbor 1.x
// replicated both).
func SelectsCharts(fs []Filter) bool {
	has := false
	for _, f := range fs {
		has = has || f.Type == FilterResource
	}
	return has && pass(fs, FilterResource, func(v string) bool { return Glob(v, ResourceChart) })
}

// MatchChart reports whether a chart version passes the label filters:
// chart versions carry no labels, so only a policy without "matches"
// label filters selects them.
func MatchChart(fs []Filter) bool {
	return pass(fs, FilterLabel, func(string) bool { return false })
}

// NeedsManifest reports whether fs has label or resource filters, which
// need an artifact's manifest (and config) to decide.
func NeedsManifest(fs []Filter) bool {
	for _, f := range fs {
		if f.Type == FilterLabel || f.Type == FilterResource {
			return true
		}
	}
	return false
}

// matchesNames reports whether fs has a label filter that a registry
// label's name can match: one without '='.
func matchesNames(fs []Filter) bool {
	for _, f := range fs {
		if f.Type == FilterLabel && !strings.Contains(f.Value, "=") {
			return true
		}
	}
	return false
}

// literalNames returns the repository names of the "matches" name filters
// when all of them are literal (no glob), so a lister need not read the
// catalog; ok is false otherwise.
func literalNames(fs []Filter) (names []string, ok bool) {
	for _, f := range fs {
		if f.Type != FilterName || f.excludes() {
			continue
		}
		if strings.ContainsAny(f.Value, "*?{}[]") {
			return nil, false
		}
		names = append(names, f.Value)
	}
	return names, len(names) > 0
}

func pass(fs []Filter, typ FilterType, match func(string) bool) bool {
	included, haveIncludes := false, false
	for _, f := range fs {
		if f.Type != typ {
			continue
		}
		m := match(f.Value)
		if f.excludes() {
			if m {
				return false
			}
			continue
		}
		haveIncludes = true
		included = included || m
	}
	return included || !haveIncludes
}

// Glob reports whether s matches pattern (see Filter for the syntax). A
// malformed pattern matches nothing.
func Glob(pattern, s string) bool {
	re, err := compileGlob(pattern)
	return err == nil && re.MatchString(s)
}

func compileGlob(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > 1024 {
		return nil, errors.New("pattern longer than 1024 characters")
	}
	var b strings.Builder
	b.WriteString("^")
	depth := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			i++
			// "a/**/b" also matches "a/b".
			if i+1 < len(pattern) && pattern[i+1] == '/' && (i == 1 || pattern[i-2] == '/') {
				i++
				b.WriteString("(?:.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '{':
			depth++
			b.WriteString("(?:")
		case c == '}' && depth > 0:
			depth--
			b.WriteString(")")
		case c == ',' && depth > 0:
			b.WriteString("|")
		case c == '\\' && i+1 < len(pattern):
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		default:
			// One whole character: string(c) would turn a byte of a
			// multi-byte character into a different character.
			_, size := utf8.DecodeRuneInString(pattern[i:])
			b.WriteString(regexp.QuoteMeta(pattern[i : i+size]))
			i += size - 1
		}
	}
	if depth != 0 {
		return nil, errors.New("unbalanced '{'")
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// Rewrite maps a source repository name to its destination name.
type Rewrite struct {
	// Namespace is prefixed to the result; empty keeps the name as the
	// replacement leaves it.
	Namespace string
	// Replace is how many leading path components of the source name are
	// dropped before Namespace is prefixed: 0 drops none; FlattenAll (-1)
	// keeps only the last component.
	Replace int
}

// FlattenAll as Rewrite.Replace keeps only a name's last path component.
const FlattenAll = -1

// Apply returns the destination name of repository.
func (r Rewrite) Apply(repository string) (string, error) {
	parts := strings.Split(repository, "/")
	switch {
	case r.Replace < FlattenAll:
		return "", fmt.Errorf("%w: namespace replace count %d: want -1 (flatten) or more", ErrInvalid, r.Replace)
	case r.Replace == FlattenAll:
		parts = parts[len(parts)-1:]
	case r.Replace >= len(parts):
		return "", fmt.Errorf("%w: cannot drop %d leading components of %q, which has %d",
			ErrInvalid, r.Replace, repository, len(parts))
	default:
		parts = parts[r.Replace:]
	}
	out := strings.Join(parts, "/")
	if ns := strings.Trim(r.Namespace, "/"); ns != "" {
		out = ns + "/" + out
	}
	return out, nil
}
