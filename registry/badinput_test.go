package registry

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// state is what a refused request must leave unchanged.
type state struct {
	Tags    []string
	Catalog string
}

func (tr *testRegistry) state(repo string) state {
	tr.t.Helper()
	r := tr.do(http.MethodGet, "/v2/_catalog", nil, nil)
	require.Equal(tr.t, http.StatusOK, r.Status)
	return state{Tags: tr.tagList(repo), Catalog: string(r.Body)}
}

// jsonEdit marshals a manifest after changing its generic JSON form.
func jsonEdit(t *testing.T, body []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	edit(m)
	return mustJSON(t, m)
}

func TestBadManifestPush(t *testing.T) { onEngines(t, testBadManifestPush) }

func testBadManifestPush(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushImage("bad", "keep", 1)
	good := randomImage(t, 1)
	tr.pushImageBlobs("bad", good)
	missingLayer := randomImage(t, 1)
	tr.pushBlob("bad", missingLayer.Config)
	otherDigest := digest.FromString("other")
	idx := indexOf(t, MediaTypeOCIIndex, descriptorOf(MediaTypeOCIManifest, good.Manifest))
	goodDesc := descriptorOf(MediaTypeOCIManifest, good.Manifest)
	edit := func(f func(map[string]any)) []byte { return jsonEdit(t, good.Manifest, f) }

	tests := []struct {
		name        string
		ref         string // "" pushes to tag "new"
		contentType string
		body        []byte
		status      int
		code        string
	}{
		{"malformed JSON", "", MediaTypeOCIManifest, good.Manifest[:len(good.Manifest)/2], 400, CodeManifestInvalid},
		{"not JSON", "", MediaTypeOCIManifest, []byte("hello"), 400, CodeManifestInvalid},
		{"JSON array", "", MediaTypeOCIManifest, []byte("[]"), 400, CodeManifestInvalid},
		{"JSON null", "", MediaTypeOCIManifest, []byte("null"), 400, CodeManifestInvalid},
		{"empty body", "", MediaTypeOCIManifest, []byte{}, 400, CodeManifestInvalid},
		{"trailing garbage", "", MediaTypeOCIManifest, append(bytes.Clone(good.Manifest), "garbage"...), 400, CodeManifestInvalid},
		{"trailing object", "", MediaTypeOCIManifest, append(bytes.Clone(good.Manifest), "{}"...), 400, CodeManifestInvalid},
		{"trailing brace", "", MediaTypeOCIManifest, append(bytes.Clone(good.Manifest), '}'), 400, CodeManifestInvalid},
		{"trailing bracket", "", MediaTypeOCIManifest, append(bytes.Clone(good.Manifest), " \n]"...), 400, CodeManifestInvalid},
		{"schemaVersion 1", "", MediaTypeOCIManifest, edit(func(m map[string]any) { m["schemaVersion"] = 1 }), 400, CodeManifestInvalid},
		{"schemaVersion missing", "", MediaTypeOCIManifest, edit(func(m map[string]any) { delete(m, "schemaVersion") }), 400, CodeManifestInvalid},
		{"schemaVersion string", "", MediaTypeOCIManifest, edit(func(m map[string]any) { m["schemaVersion"] = "2" }), 400, CodeManifestInvalid},
		{"mediaType disagrees with Content-Type", "", MediaTypeDockerManifest, good.Manifest, 400, CodeManifestInvalid},
		{"index body as image", "", MediaTypeOCIManifest, idx, 400, CodeManifestInvalid},
		{"unsupported media type", "", "text/plain", edit(func(m map[string]any) { delete(m, "mediaType") }), 400, CodeManifestInvalid},
		{"schema1 media type", "", "application/vnd.docker.distribution.manifest.v1+prettyjws", edit(func(m map[string]any) { delete(m, "mediaType") }), 400, CodeManifestInvalid},
		{"unsupported mediaType in body", "", "", edit(func(m map[string]any) { m["mediaType"] = "application/vnd.example+json" }), 400, CodeManifestInvalid},
		{"no config", "", MediaTypeOCIManifest, edit(func(m map[string]any) { delete(m, "config") }), 400, CodeManifestInvalid},
		{"image with manifests", "", MediaTypeOCIManifest, edit(func(m map[string]any) { m["manifests"] = []any{} }), 400, CodeManifestInvalid},
		{"index with layers", "", MediaTypeOCIIndex, jsonEdit(t, idx, func(m map[string]any) { m["layers"] = []any{} }), 400, CodeManifestInvalid},
		{"layer digest malformed", "", MediaTypeOCIManifest, edit(func(m map[string]any) {
			m["layers"].([]any)[0].(map[string]any)["digest"] = "sha256:xyz"
		}), 400, CodeManifestInvalid},
		{"layer digest md5", "", MediaTypeOCIManifest, edit(func(m map[string]any) {
			m["layers"].([]any)[0].(map[string]any)["digest"] = "md5:" + strings.Repeat("a", 32)
		}), 400, CodeManifestInvalid},
		{"negative size", "", MediaTypeOCIManifest, edit(func(m map[string]any) { m["config"].(map[string]any)["size"] = -1 }), 400, CodeManifestInvalid},
		{"data not base64", "", MediaTypeOCIManifest, edit(func(m map[string]any) { m["config"].(map[string]any)["data"] = "!!" }), 400, CodeManifestInvalid},
		{"subject digest malformed", "", MediaTypeOCIManifest, edit(func(m map[string]any) {
			m["subject"] = map[string]any{"mediaType": MediaTypeOCIManifest, "digest": "sha256:1", "size": 1}
		}), 400, CodeManifestInvalid},
		{"layer blob missing", "", MediaTypeOCIManifest, missingLayer.Manifest, 400, CodeManifestBlobUnknown},
		{"config blob missing", "", MediaTypeOCIManifest, randomImage(t, 0).Manifest, 400, CodeManifestBlobUnknown},
		{"index child missing", "", MediaTypeOCIIndex, idx, 400, CodeManifestBlobUnknown},
		{"docker list child missing", "", MediaTypeDockerList, indexOf(t, MediaTypeDockerList, goodDesc), 400, CodeManifestBlobUnknown},
		{"wrong digest in path", otherDigest.String(), MediaTypeOCIManifest, good.Manifest, 400, CodeDigestInvalid},
		{"sha512 digest of other content", digest.SHA512.FromString("x").String(), MediaTypeOCIManifest, good.Manifest, 400, CodeDigestInvalid},
		{"md5 digest in path", "md5:" + strings.Repeat("0", 32), MediaTypeOCIManifest, good.Manifest, 400, CodeDigestInvalid},
		{"sha999 digest in path", "sha999:" + good.Digest.Encoded(), MediaTypeOCIManifest, good.Manifest, 400, CodeDigestInvalid},
		{"truncated digest in path", "sha256:" + good.Digest.Encoded()[:10], MediaTypeOCIManifest, good.Manifest, 400, CodeDigestInvalid},
		{"tag with !", "new!", MediaTypeOCIManifest, good.Manifest, 400, CodeManifestInvalid},
		{"tag of 129 characters", strings.Repeat("t", 129), MediaTypeOCIManifest, good.Manifest, 400, CodeManifestInvalid},
		{"tag starting with -", "-new", MediaTypeOCIManifest, good.Manifest, 400, CodeManifestInvalid},
		{"tag starting with .", ".new", MediaTypeOCIManifest, good.Manifest, 400, CodeManifestInvalid},
		{"bad ?tag= on a digest push", good.Digest.String() + "?tag=ok&tag=bad!", MediaTypeOCIManifest, good.Manifest, 400, CodeManifestInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tr.state("bad")
			ref := tt.ref
			if ref == "" {
				ref = "new"
			}
			r := tr.putManifest("bad", ref, tt.contentType, tt.body)
			requireError(t, r, tt.status, tt.code)
			tr.requireNoManifest("bad", "new")
			tr.requireNoManifest("bad", "ok")
			tr.requireNoManifest("bad", digest.FromBytes(tt.body).String())
			tr.requireNoManifest("bad", digest.SHA512.FromBytes(tt.body).String())
			assert.Equal(t, before, tr.state("bad"))
		})
	}

	// The good manifest itself is accepted: the refusals above were for
	// their own reasons.
	tr.pushManifest("bad", "new", MediaTypeOCIManifest, good.Manifest)
	assert.Equal(t, []string{"keep", "new"}, tr.tagList("bad"))
}

func TestOversizedManifest(t *testing.T) { onEngines(t, testOversizedManifest) }

func testOversizedManifest(t *testing.T) {
	tr := newTestRegistry(t)
	img := randomImage(t, 1, func(m *v1.Manifest) {
		m.Annotations = map[string]string{"padding": strings.Repeat("x", DefaultMaxManifestSize)}
	})
	require.Greater(t, len(img.Manifest), DefaultMaxManifestSize)
	tr.pushImageBlobs("big", img)
	before := tr.state("big")

	for _, known := range []bool{true, false} {
		req := httptest.NewRequest(http.MethodPut, "/v2/big/manifests/huge", bytes.NewReader(img.Manifest))
		req.Header.Set("Content-Type", MediaTypeOCIManifest)
		if !known {
			req.ContentLength = -1 // chunked: the limit applies while reading
		}
		requireError(t, tr.serve(req), http.StatusRequestEntityTooLarge, CodeManifestInvalid)
	}
	tr.requireNoManifest("big", "huge")
	tr.requireNoManifest("big", img.Digest.String())
	assert.Equal(t, before, tr.state("big"))

	t.Run("configured limit over the network", func(t *testing.T) {
		tr := newTestRegistry(t, WithMaxManifestSize(512))
		img := randomImage(t, 1, func(m *v1.Manifest) { m.Annotations = map[string]string{"p": strings.Repeat("x", 512)} })
		tr.pushImageBlobs("big", img)
		requireError(t, tr.putManifest("big", "huge", MediaTypeOCIManifest, img.Manifest),
			http.StatusRequestEntityTooLarge, CodeManifestInvalid)
		tr.requireNoManifest("big", "huge")
		assert.Equal(t, []string{}, tr.tagList("big"))
	})
}

func TestInvalidRepositoryNames(t *testing.T) { onEngines(t, testInvalidRepositoryNames) }

func testInvalidRepositoryNames(t *testing.T) {
	tr := newTestRegistry(t)
	img := randomImage(t, 1)
	names := []string{
		"a/../b", "..", "a/./b", "%2e%2e/a", "a/%2e%2e/b", "a/%2E%2E", "UPPER", "a/Bc", "a//b", "-a", "a-",
		"a___b", ".a", "a.", "a%20b", "a:b", "a@b",
		strings.Repeat("a", 256), strings.Repeat("a", 300), strings.Repeat("ab/", 100) + "c",
	}
	requests := []struct {
		method, suffix string
		body           []byte
	}{
		{http.MethodGet, "/tags/list", nil},
		{http.MethodGet, "/manifests/latest", nil},
		{http.MethodHead, "/manifests/latest", nil},
		{http.MethodPut, "/manifests/latest", img.Manifest},
		{http.MethodDelete, "/manifests/latest", nil},
		{http.MethodGet, "/blobs/" + img.Digest.String(), nil},
		{http.MethodPost, "/blobs/uploads/", nil},
		{http.MethodPost, "/blobs/uploads/?digest=" + digest.FromBytes(img.Config).String(), img.Config},
		{http.MethodGet, "/referrers/" + img.Digest.String(), nil},
	}
	before := tr.do(http.MethodGet, "/v2/_catalog", nil, nil)
	for _, name := range names {
		t.Run(truncate(name), func(t *testing.T) {
			for _, rq := range requests {
				r := tr.do(rq.method, "/v2/"+name+rq.suffix, rq.body, hdr("Content-Type", MediaTypeOCIManifest))
				if rq.method == http.MethodHead {
					assert.Equal(t, http.StatusBadRequest, r.Status, "%s %s", rq.method, rq.suffix)
					continue
				}
				requireError(t, r, http.StatusBadRequest, CodeNameInvalid)
			}
		})
	}
	after := tr.do(http.MethodGet, "/v2/_catalog", nil, nil)
	assert.JSONEq(t, string(before.Body), string(after.Body))
	assert.JSONEq(t, `{"repositories":[]}`, string(after.Body))

	t.Run("longest valid name", func(t *testing.T) {
		name := strings.Repeat("a", 127) + "/" + strings.Repeat("b", 127)
		require.Len(t, name, MaxNameLength)
		tr.pushImage(name, "v1", 1)
		assert.Equal(t, []string{"v1"}, tr.tagList(name))
	})
}

func TestInvalidReferencesOnPull(t *testing.T) { onEngines(t, testInvalidReferencesOnPull) }

func testInvalidReferencesOnPull(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushImage("r", "v1", 1)
	tests := []struct {
		ref  string
		code string
	}{
		{"v1!", CodeManifestInvalid},
		{strings.Repeat("v", 129), CodeManifestInvalid},
		{"-v1", CodeManifestInvalid},
		{"md5:" + strings.Repeat("0", 32), CodeDigestInvalid},
		{"sha999:" + strings.Repeat("0", 64), CodeDigestInvalid},
		{"sha256:0", CodeDigestInvalid},
		{"sha256:" + strings.Repeat("A", 64), CodeDigestInvalid},
	}
	for _, tt := range tests {
		t.Run(truncate(tt.ref), func(t *testing.T) {
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				requireError(t, tr.do(m, "/v2/r/manifests/"+tt.ref, nil, nil), http.StatusBadRequest, tt.code)
			}
		})
	}
	// 128 characters is still a tag.
	requireError(t, tr.getManifest("r", strings.Repeat("v", 128)), http.StatusNotFound, CodeManifestUnknown)
	assert.Equal(t, []string{"v1"}, tr.tagList("r"))
}

func TestUnknownRoutesAndMethods(t *testing.T) { onEngines(t, testUnknownRoutesAndMethods) }

func testUnknownRoutesAndMethods(t *testing.T) {
	tr := newTestRegistry(t)
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/v2/r/unknown/thing", http.StatusNotFound},
		{http.MethodGet, "/other", http.StatusNotFound},
		{http.MethodPost, "/v2/r/manifests/latest", http.StatusMethodNotAllowed},
		{http.MethodPut, "/v2/r/tags/list", http.StatusMethodNotAllowed},
		{http.MethodPost, "/v2/_catalog", http.StatusMethodNotAllowed},
		{http.MethodPatch, "/v2/r/blobs/uploads/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/v2/r/blobs/" + digest.FromString("x").String(), http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			requireError(t, tr.do(tt.method, tt.path, nil, nil), tt.status, CodeUnsupported)
		})
	}
	for _, p := range []string{"/v2/", "/v2"} {
		r := tr.do(http.MethodGet, p, nil, nil)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, "registry/2.0", r.Header.Get("Docker-Distribution-API-Version"))
		assert.JSONEq(t, "{}", string(r.Body))
	}
}
