package registry

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var nextLinkRE = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// listPages follows Link headers from path and returns every page's items.
func (tr *testRegistry) listPages(path, field string) [][]string {
	tr.t.Helper()
	var pages [][]string
	for path != "" {
		r := tr.do(http.MethodGet, path, nil, nil)
		require.Equal(tr.t, http.StatusOK, r.Status, "body: %s", r.Body)
		var body map[string]json.RawMessage
		require.NoError(tr.t, json.Unmarshal(r.Body, &body))
		var items []string
		require.NoError(tr.t, json.Unmarshal(body[field], &items))
		require.NotNil(tr.t, items, "an empty page is [], not null")
		pages = append(pages, items)
		path = ""
		if link := r.Header.Get("Link"); link != "" {
			m := nextLinkRE.FindStringSubmatch(link)
			require.NotNil(tr.t, m, "Link %q", link)
			path = m[1]
		}
		require.Less(tr.t, len(pages), 100, "pagination does not end")
	}
	return pages
}

// tagImage pushes one image and points tags at it.
func (tr *testRegistry) tagImage(repo string, tags ...string) {
	tr.t.Helper()
	img := tr.pushImage(repo, "", 1)
	for _, tag := range tags {
		tr.pushManifest(repo, tag, MediaTypeOCIManifest, img.Manifest)
	}
}

func TestTagsPagination(t *testing.T) { onEngines(t, testTagsPagination) }

func testTagsPagination(t *testing.T) {
	tr := newTestRegistry(t)
	tr.tagImage("r", "e", "c", "a", "d", "b")

	tests := []struct {
		query string
		pages [][]string
	}{
		{"", [][]string{{"a", "b", "c", "d", "e"}}},
		{"?n=2", [][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		{"?n=1&last=c", [][]string{{"d"}, {"e"}, {}}},
		{"?last=b", [][]string{{"c", "d", "e"}}},
		{"?last=zzz", [][]string{{}}},
		{"?n=0", [][]string{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			assert.Equal(t, tt.pages, tr.listPages("/v2/r/tags/list"+tt.query, "tags"))
		})
	}

	r := tr.do(http.MethodGet, "/v2/r/tags/list?n=2", nil, nil)
	assert.Equal(t, `</v2/r/tags/list?last=b&n=2>; rel="next"`, r.Header.Get("Link"))
	requireError(t, tr.do(http.MethodGet, "/v2/unknown/tags/list", nil, nil), http.StatusNotFound, CodeNameUnknown)
}

func TestCatalogPagination(t *testing.T) { onEngines(t, testCatalogPagination) }

func testCatalogPagination(t *testing.T) {
	tr := newTestRegistry(t)
	for _, repo := range []string{"b/x", "a", "c", "b"} {
		tr.pushBlob(repo, []byte(repo))
	}
	tests := []struct {
		query string
		pages [][]string
	}{
		{"", [][]string{{"a", "b", "b/x", "c"}}},
		{"?n=3", [][]string{{"a", "b", "b/x"}, {"c"}}},
		{"?n=2&last=a", [][]string{{"b", "b/x"}, {"c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			assert.Equal(t, tt.pages, tr.listPages("/v2/_catalog"+tt.query, "repositories"))
		})
	}
	r := tr.do(http.MethodGet, "/v2/_catalog?n=1", nil, nil)
	assert.Equal(t, `</v2/_catalog?last=a&n=1>; rel="next"`, r.Header.Get("Link"))
}

func TestPageSizeBounds(t *testing.T) { onEngines(t, testPageSizeBounds) }

func testPageSizeBounds(t *testing.T) {
	tr := newTestRegistry(t, WithMaxPageSize(3))
	tr.tagImage("r", "a", "b", "c", "d", "e")

	t.Run("huge n is clamped", func(t *testing.T) {
		for _, path := range []string{"/v2/r/tags/list?n=1000000000000", "/v2/_catalog?n=1000000000000"} {
			r := tr.do(http.MethodGet, path, nil, nil)
			require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
			if path == "/v2/_catalog?n=1000000000000" {
				assert.JSONEq(t, `{"repositories":["r"]}`, string(r.Body))
				assert.Empty(t, r.Header.Get("Link"))
				continue
			}
			assert.JSONEq(t, `{"name":"r","tags":["a","b","c"]}`, string(r.Body))
			assert.Equal(t, `</v2/r/tags/list?last=c&n=3>; rel="next"`, r.Header.Get("Link"))
		}
		assert.Equal(t, [][]string{{"a", "b", "c"}, {"d", "e"}}, tr.listPages("/v2/r/tags/list?n=1000000000000", "tags"))
	})
	t.Run("default page size is clamped too", func(t *testing.T) {
		assert.Equal(t, [][]string{{"a", "b", "c"}, {"d", "e"}}, tr.listPages("/v2/r/tags/list", "tags"))
	})
	t.Run("invalid n", func(t *testing.T) {
		for _, n := range []string{"-1", "-1000000000000", "abc", "1.5", "0x10", "%20"} {
			for _, path := range []string{"/v2/r/tags/list?n=", "/v2/_catalog?n="} {
				requireError(t, tr.do(http.MethodGet, path+n, nil, nil), http.StatusBadRequest, CodePaginationInvalid)
			}
		}
	})
}

// referrersOf fetches the referrers index of subject in repo.
func (tr *testRegistry) referrersOf(repo string, subject digest.Digest, query string) (v1.Index, *response) {
	tr.t.Helper()
	r := tr.do(http.MethodGet, "/v2/"+repo+"/referrers/"+subject.String()+query, nil, nil)
	require.Equal(tr.t, http.StatusOK, r.Status, "body: %s", r.Body)
	require.Equal(tr.t, MediaTypeOCIIndex, r.Header.Get("Content-Type"))
	var idx v1.Index
	require.NoError(tr.t, json.Unmarshal(r.Body, &idx))
	require.Equal(tr.t, 2, idx.SchemaVersion)
	require.Equal(tr.t, MediaTypeOCIIndex, idx.MediaType)
	require.NotNil(tr.t, idx.Manifests, "manifests is [], not null")
	return idx, r
}

func TestReferrers(t *testing.T) { onEngines(t, testReferrers) }

func testReferrers(t *testing.T) {
	tr := newTestRegistry(t)
	subject := tr.pushImage("r", "v1", 1)
	subjDesc := descriptorOf(MediaTypeOCIManifest, subject.Manifest)
	const sbomType, sigType = "application/vnd.example.sbom.v1+json", "application/vnd.example.sig.v1"

	sbom := tr.pushImage("r", "", 1, func(m *v1.Manifest) {
		m.ArtifactType = sbomType
		m.Subject = &subjDesc
		m.Annotations = map[string]string{"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
	})
	// Without artifactType, an image manifest's artifact type is its config's
	// media type.
	sig := randomImage(t, 1, func(m *v1.Manifest) {
		m.Config.MediaType = sigType
		m.Subject = &subjDesc
	})
	tr.pushImageBlobs("r", sig)
	tr.pushManifest("r", sig.Digest.String(), MediaTypeOCIManifest, sig.Manifest)
	// An unrelated repository's referrers do not leak in.
	tr.pushImage("other", "", 1, func(m *v1.Manifest) { m.ArtifactType = sbomType; m.Subject = &subjDesc })

	idx, r := tr.referrersOf("r", subject.Digest, "")
	assert.Empty(t, r.Header.Get("OCI-Filters-Applied"))
	want := map[digest.Digest]v1.Descriptor{
		sbom.Digest: {MediaType: MediaTypeOCIManifest, Digest: sbom.Digest, Size: int64(len(sbom.Manifest)), ArtifactType: sbomType,
			Annotations: map[string]string{"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}},
		sig.Digest: {MediaType: MediaTypeOCIManifest, Digest: sig.Digest, Size: int64(len(sig.Manifest)), ArtifactType: sigType},
	}
	got := map[digest.Digest]v1.Descriptor{}
	for _, d := range idx.Manifests {
		got[d.Digest] = d
	}
	assert.Equal(t, want, got)

	t.Run("artifactType filter", func(t *testing.T) {
		idx, r := tr.referrersOf("r", subject.Digest, "?artifactType="+url.QueryEscape(sbomType))
		assert.Equal(t, "artifactType", r.Header.Get("OCI-Filters-Applied"))
		require.Len(t, idx.Manifests, 1)
		assert.Equal(t, sbom.Digest, idx.Manifests[0].Digest)

		idx, r = tr.referrersOf("r", subject.Digest, "?artifactType=application/vnd.none")
		assert.Equal(t, "artifactType", r.Header.Get("OCI-Filters-Applied"))
		assert.Empty(t, idx.Manifests)
	})
	t.Run("subject never pushed", func(t *testing.T) {
		ghost := digest.FromString("never pushed")
		idx, _ := tr.referrersOf("r", ghost, "")
		assert.Empty(t, idx.Manifests)
		idx, _ = tr.referrersOf("never/pushed", ghost, "")
		assert.Empty(t, idx.Manifests)

		ghostDesc := v1.Descriptor{MediaType: MediaTypeOCIManifest, Digest: ghost, Size: 123}
		orphan := tr.pushImage("r", "", 1, func(m *v1.Manifest) { m.ArtifactType = sigType; m.Subject = &ghostDesc })
		idx, _ = tr.referrersOf("r", ghost, "")
		require.Len(t, idx.Manifests, 1)
		assert.Equal(t, orphan.Digest, idx.Manifests[0].Digest)
	})
	t.Run("index as referrer", func(t *testing.T) {
		body := mustJSON(t, v1.Index{
			Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: MediaTypeOCIIndex, ArtifactType: "application/vnd.example.bundle",
			Manifests: []v1.Descriptor{}, Subject: &subjDesc,
		})
		d := tr.pushManifest("r", digest.FromBytes(body).String(), MediaTypeOCIIndex, body)
		idx, _ := tr.referrersOf("r", subject.Digest, "?artifactType=application/vnd.example.bundle")
		require.Len(t, idx.Manifests, 1)
		assert.Equal(t, d, idx.Manifests[0].Digest)
		assert.Equal(t, MediaTypeOCIIndex, idx.Manifests[0].MediaType)
	})
	t.Run("deleted referrer disappears", func(t *testing.T) {
		r := tr.do(http.MethodDelete, "/v2/r/manifests/"+sig.Digest.String(), nil, nil)
		require.Equal(t, http.StatusAccepted, r.Status)
		idx, _ := tr.referrersOf("r", subject.Digest, "?artifactType="+url.QueryEscape(sigType))
		assert.Empty(t, idx.Manifests)
	})
	t.Run("bad digest", func(t *testing.T) {
		for _, ref := range []string{"latest", "sha256:abc", "md5:" + subject.Digest.Encoded()[:32]} {
			requireError(t, tr.do(http.MethodGet, "/v2/r/referrers/"+ref, nil, nil), http.StatusBadRequest, CodeDigestInvalid)
		}
	})
}

func TestReferrersPaginate(t *testing.T) { onEngines(t, testReferrersPaginate) }

func testReferrersPaginate(t *testing.T) {
	tr := newTestRegistry(t, WithMaxPageSize(3))
	subject := tr.pushImage("r", "t", 1)
	want := map[string]bool{}
	for i := range 7 {
		ref := randomImage(t, 1, func(m *v1.Manifest) {
			m.ArtifactType = "application/vnd.example.sig"
			m.Subject = &v1.Descriptor{MediaType: MediaTypeOCIManifest, Digest: subject.Digest, Size: int64(len(subject.Manifest))}
			m.Annotations = map[string]string{"i": strconv.Itoa(i)}
		})
		tr.pushImageBlobs("r", ref)
		want[tr.pushManifest("r", ref.Digest.String(), MediaTypeOCIManifest, ref.Manifest).String()] = true
	}
	got := map[string]bool{}
	next, pages := "/v2/r/referrers/"+subject.Digest.String()+"?artifactType=application%2Fvnd.example.sig", 0
	for next != "" {
		r := tr.do(http.MethodGet, next, nil, nil)
		require.Equal(t, http.StatusOK, r.Status)
		var idx v1.Index
		require.NoError(t, json.Unmarshal(r.Body, &idx))
		assert.LessOrEqual(t, len(idx.Manifests), 3)
		for _, d := range idx.Manifests {
			assert.False(t, got[d.Digest.String()], "no referrer twice")
			got[d.Digest.String()] = true
		}
		next = ""
		if link := r.Header.Get("Link"); link != "" {
			next = strings.TrimPrefix(strings.Split(link, ">")[0], "<")
			assert.Contains(t, next, "artifactType=", "the filter carries over")
		}
		pages++
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 3, pages)
}

func TestOpenUploadsAreBounded(t *testing.T) { onEngines(t, testOpenUploadsAreBounded) }

func testOpenUploadsAreBounded(t *testing.T) {
	tr := newTestRegistry(t, WithMaxOpenUploads(2))
	a := tr.startUpload("r")
	tr.startUpload("r")
	r := tr.do(http.MethodPost, "/v2/r/blobs/uploads/", nil, nil)
	requireError(t, r, http.StatusTooManyRequests, CodeTooManyRequests)
	assert.Equal(t, "60", r.Header.Get("Retry-After"))
	// Monolithic pushes and mounts hold no session and still work.
	tr.pushBlob("r", []byte("still fine"))
	require.Equal(t, http.StatusNoContent, tr.do(http.MethodDelete, a, nil, nil).Status)
	tr.startUpload("r")
}
