package registry

import (
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/storage"
)

// MaxNameLength bounds repository names (core.MaxNameLength).
const MaxNameLength = core.MaxNameLength

var tagRE = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// ValidName reports whether name is a valid repository name per the
// distribution spec (core.ValidRepository).
func ValidName(name string) bool { return core.ValidRepository(name) }

// ValidTag reports whether tag is a valid tag.
func ValidTag(tag string) bool { return tagRE.MatchString(tag) }

// ParseDigest checks a digest's syntax and algorithm.
func ParseDigest(s string) (digest.Digest, error) {
	d := digest.Digest(s)
	if err := storage.CheckDigest(d); err != nil {
		return "", err
	}
	return d, nil
}

// route is a parsed /v2/ request path.
type route struct {
	kind   routeKind
	name   string // repository
	ref    string // tag, digest or upload id
	digest digest.Digest
}

type routeKind int

const (
	routeUnknown routeKind = iota
	routeBase
	routeCatalog
	routeTags
	routeManifest
	routeBlob
	routeUploadStart
	routeUpload
	routeReferrers
)

// parseRoute splits a /v2/ path. The repository name may contain any of the
// keywords, so the path is read from its end.
func parseRoute(path string) route {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		if path == "/v2" {
			return route{kind: routeBase}
		}
		return route{}
	}
	if rest == "" {
		return route{kind: routeBase}
	}
	if rest == "_catalog" {
		return route{kind: routeCatalog}
	}
	seg := strings.Split(rest, "/")
	n := len(seg)
	join := func(k int) string { return strings.Join(seg[:n-k], "/") }
	switch {
	case n >= 3 && seg[n-2] == "tags" && seg[n-1] == "list":
		return route{kind: routeTags, name: join(2)}
	case n >= 3 && seg[n-2] == "manifests":
		return route{kind: routeManifest, name: join(2), ref: seg[n-1]}
	case n >= 3 && seg[n-2] == "referrers":
		return route{kind: routeReferrers, name: join(2), ref: seg[n-1]}
	case n >= 3 && seg[n-2] == "blobs" && seg[n-1] == "uploads":
		return route{kind: routeUploadStart, name: join(2)}
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads" && seg[n-1] == "":
		return route{kind: routeUploadStart, name: join(3)}
	case n >= 4 && seg[n-3] == "blobs" && seg[n-2] == "uploads":
		return route{kind: routeUpload, name: join(3), ref: seg[n-1]}
	case n >= 3 && seg[n-2] == "blobs":
		return route{kind: routeBlob, name: join(2), ref: seg[n-1]}
	}
	return route{}
}

// RouteName names the API family of a request path, for metrics and logs:
// base, catalog, tags, manifests, blobs, uploads, referrers or unknown.
func RouteName(path string) string {
	switch parseRoute(path).kind {
	case routeBase:
		return "base"
	case routeCatalog:
		return "catalog"
	case routeTags:
		return "tags"
	case routeManifest:
		return "manifests"
	case routeBlob:
		return "blobs"
	case routeUploadStart, routeUpload:
		return "uploads"
	case routeReferrers:
		return "referrers"
	}
	return "unknown"
}

// projectOf is a repository's first path component.
func projectOf(repo string) string {
	p, _, _ := strings.Cut(repo, "/")
	return p
}
