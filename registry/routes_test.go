package registry

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseRoute(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		path string
		want route
		name string // RouteName
	}{
		{"/v2/", route{kind: routeBase}, "base"},
		{"/v2", route{kind: routeBase}, "base"},
		{"/v2/_catalog", route{kind: routeCatalog}, "catalog"},
		{"/v2/a/tags/list", route{kind: routeTags, name: "a"}, "tags"},
		{"/v2/a/b/c/tags/list", route{kind: routeTags, name: "a/b/c"}, "tags"},
		{"/v2/a/manifests/v1", route{kind: routeManifest, name: "a", ref: "v1"}, "manifests"},
		{"/v2/a/manifests/" + d, route{kind: routeManifest, name: "a", ref: d}, "manifests"},
		{"/v2/a/blobs/" + d, route{kind: routeBlob, name: "a", ref: d}, "blobs"},
		{"/v2/a/blobs/uploads", route{kind: routeUploadStart, name: "a"}, "uploads"},
		{"/v2/a/blobs/uploads/", route{kind: routeUploadStart, name: "a"}, "uploads"},
		{"/v2/a/blobs/uploads/xyz", route{kind: routeUpload, name: "a", ref: "xyz"}, "uploads"},
		{"/v2/a/referrers/" + d, route{kind: routeReferrers, name: "a", ref: d}, "referrers"},
		// Repository names may contain the API's keywords.
		{"/v2/tags/manifests/list", route{kind: routeManifest, name: "tags", ref: "list"}, "manifests"},
		{"/v2/manifests/tags/list", route{kind: routeTags, name: "manifests"}, "tags"},
		{"/v2/blobs/uploads/blobs/uploads/", route{kind: routeUploadStart, name: "blobs/uploads"}, "uploads"},
		{"/v2/x/blobs/uploads/blobs/" + d, route{kind: routeBlob, name: "x/blobs/uploads", ref: d}, "blobs"},
		{"/v2/referrers/referrers/" + d, route{kind: routeReferrers, name: "referrers", ref: d}, "referrers"},
		{"/v2/_catalog/tags/list", route{kind: routeTags, name: "_catalog"}, "tags"},
		// Unknown.
		{"/", route{}, "unknown"},
		{"/v1/a/tags/list", route{}, "unknown"},
		{"/v2/a", route{}, "unknown"},
		{"/v2/a/unknown/x", route{}, "unknown"},
		{"/v2/tags/list", route{}, "unknown"},
		{"/v2/manifests/v1", route{}, "unknown"},
		{"/v2x/a/tags/list", route{}, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			assert.Equal(t, tt.want, parseRoute(tt.path))
			assert.Equal(t, tt.name, RouteName(tt.path))
		})
	}
}

func TestValidNameAndTag(t *testing.T) {
	names := []struct {
		name  string
		valid bool
	}{
		{"a", true},
		{"library/nginx", true},
		{"a.b_c__d-e---f/g0/1", true},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
		{"", false},
		{"A", false},
		{"a/", false},
		{"/a", false},
		{"a//b", false},
		{"a/../b", false},
		{"a..b", false},
		{"a___b", false},
		{"a_-b", false},
		{"-a", false},
		{"a b", false},
		{"a\n", false},
		{"é", false},
	}
	for _, tt := range names {
		assert.Equal(t, tt.valid, ValidName(tt.name), "name %q", tt.name)
	}
	tags := []struct {
		tag   string
		valid bool
	}{
		{"latest", true},
		{"v1.2.3-rc.1_b", true},
		{"_x", true},
		{"A", true},
		{strings.Repeat("t", 128), true},
		{strings.Repeat("t", 129), false},
		{"", false},
		{".x", false},
		{"-x", false},
		{"a!", false},
		{"a/b", false},
		{"a:b", false},
		{"a\n", false},
	}
	for _, tt := range tags {
		assert.Equal(t, tt.valid, ValidTag(tt.tag), "tag %q", tt.tag)
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in         string
		start, end int64
		ok         bool
	}{
		{"0-0", 0, 0, true},
		{"0-99", 0, 99, true},
		{"100-199", 100, 199, true},
		{"bytes=0-9", 0, 9, true},
		{"bytes 0-9/10", 0, 9, true},
		{"0-9/*", 0, 9, true},
		{" 5-6 ", 5, 6, true},
		{"", 0, 0, false},
		{"-", 0, 0, false},
		{"5", 0, 0, false},
		{"5-", 0, 0, false},
		{"-5", 0, 0, false},
		{"6-5", 0, 0, false},
		{"+1-2", 0, 0, false},
		{"1-+2", 0, 0, false},
		{"-1-2", 0, 0, false},
		{"a-b", 0, 0, false},
		{"0-9/x", 0, 0, false},
		{"0-9223372036854775808", 0, 0, false},
		{"0-9223372036854775807", 0, 0, false}, // its length overflows int64
		{"1-9223372036854775807", 1, 9223372036854775807, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			start, end, err := parseContentRange(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.start, start)
			assert.Equal(t, tt.end, end)
		})
	}
}
