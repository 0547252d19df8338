package registry

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManifestPushPull(t *testing.T) { onEngines(t, testManifestPushPull) }

func testManifestPushPull(t *testing.T) {
	tr := newTestRegistry(t)
	img := tr.pushImage("library/app", "v1", 2)

	for _, ref := range []string{"v1", img.Digest.String()} {
		t.Run(ref, func(t *testing.T) {
			r := tr.getManifest("library/app", ref)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, img.Manifest, r.Body)
			assert.Equal(t, MediaTypeOCIManifest, r.Header.Get("Content-Type"))
			assert.Equal(t, img.Digest.String(), r.Header.Get("Docker-Content-Digest"))
			assert.Equal(t, strconv.Itoa(len(img.Manifest)), r.Header.Get("Content-Length"))

			r = tr.do(http.MethodHead, "/v2/library/app/manifests/"+ref, nil, nil)
			require.Equal(t, http.StatusOK, r.Status)
			assert.Empty(t, r.Body)
			assert.Equal(t, strconv.Itoa(len(img.Manifest)), r.Header.Get("Content-Length"))
			assert.Equal(t, img.Digest.String(), r.Header.Get("Docker-Content-Digest"))
		})
	}

	// The blobs it references are readable, and nothing leaks to other
	// repositories.
	r := tr.do(http.MethodGet, "/v2/library/app/blobs/"+digest.FromBytes(img.Layers[1]).String(), nil, nil)
	require.Equal(t, http.StatusOK, r.Status)
	requireError(t, tr.getManifest("library/other", "v1"), http.StatusNotFound, CodeManifestUnknown)
	requireError(t, tr.getManifest("library/app", "v2"), http.StatusNotFound, CodeManifestUnknown)
	requireError(t, tr.getManifest("library/app", digest.FromString("x").String()), http.StatusNotFound, CodeManifestUnknown)

	// Pushing the same manifest elsewhere needs the blobs there too.
	requireError(t, tr.putManifest("library/other", "v1", MediaTypeOCIManifest, img.Manifest),
		http.StatusBadRequest, CodeManifestBlobUnknown)
}

func TestManifestContentTypeInference(t *testing.T) { onEngines(t, testManifestContentTypeInference) }

func testManifestContentTypeInference(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		drop        bool // remove mediaType from the body
	}{
		{"Content-Type and mediaType", MediaTypeOCIManifest, false},
		{"mediaType only", "", false},
		{"Content-Type only", MediaTypeOCIManifest, true},
		{"neither", "", true},
		{"Content-Type with parameters", MediaTypeOCIManifest + "; charset=utf-8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			img := randomImage(t, 1, func(m *v1.Manifest) {
				if tt.drop {
					m.MediaType = ""
				}
			})
			tr.pushImageBlobs("r", img)
			tr.pushManifest("r", "t", tt.contentType, img.Manifest)
			r := tr.getManifest("r", "t")
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, MediaTypeOCIManifest, r.Header.Get("Content-Type"))
		})
	}
}

func TestManifestSHA512(t *testing.T) { onEngines(t, testManifestSHA512) }

func testManifestSHA512(t *testing.T) {
	tr := newTestRegistry(t)
	img := randomImage(t, 1)
	tr.pushImageBlobs("r", img)
	d := digest.SHA512.FromBytes(img.Manifest)

	r := tr.putManifest("r", d.String(), MediaTypeOCIManifest, img.Manifest)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
	assert.Equal(t, "/v2/r/manifests/"+d.String(), r.Header.Get("Location"))
	assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))

	r = tr.getManifest("r", d.String())
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, img.Manifest, r.Body)
	assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))
}

func TestManifestTagParameters(t *testing.T) { onEngines(t, testManifestTagParameters) }

func testManifestTagParameters(t *testing.T) {
	tr := newTestRegistry(t)
	img := randomImage(t, 1)
	tr.pushImageBlobs("r", img)

	r := tr.putManifest("r", img.Digest.String()+"?tag=v1&tag=latest&tag=1.0.0", MediaTypeOCIManifest, img.Manifest)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
	assert.Equal(t, []string{"v1", "latest", "1.0.0"}, r.Header.Values("OCI-Tag"))
	assert.Equal(t, []string{"1.0.0", "latest", "v1"}, tr.tagList("r"))
	for _, tag := range []string{"v1", "latest", "1.0.0"} {
		r := tr.getManifest("r", tag)
		require.Equal(t, http.StatusOK, r.Status, tag)
		assert.Equal(t, img.Manifest, r.Body)
	}

	// Without ?tag= there is no OCI-Tag header.
	img2 := tr.pushImage("r", "", 1)
	r = tr.getManifest("r", img2.Digest.String())
	require.Equal(t, http.StatusOK, r.Status)
	assert.Empty(t, r.Header.Values("OCI-Tag"))
}

func TestManifestRetag(t *testing.T) { onEngines(t, testManifestRetag) }

func testManifestRetag(t *testing.T) {
	tr := newTestRegistry(t)
	old := tr.pushImage("r", "latest", 1)
	cur := tr.pushImage("r", "latest", 1)

	r := tr.getManifest("r", "latest")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, cur.Digest.String(), r.Header.Get("Docker-Content-Digest"))
	require.Equal(t, http.StatusOK, tr.getManifest("r", old.Digest.String()).Status)
	assert.Equal(t, []string{"latest"}, tr.tagList("r"))
}

func TestManifestSubject(t *testing.T) { onEngines(t, testManifestSubject) }

func testManifestSubject(t *testing.T) {
	tests := []struct {
		name         string
		pushSubject  bool
		artifactType string
	}{
		{"subject pushed", true, "application/vnd.example.sbom"},
		{"subject never pushed", false, "application/vnd.example.signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			subject := randomImage(t, 1)
			if tt.pushSubject {
				tr.pushImageBlobs("r", subject)
				tr.pushManifest("r", "v1", MediaTypeOCIManifest, subject.Manifest)
			}
			subjDesc := descriptorOf(MediaTypeOCIManifest, subject.Manifest)
			art := tr.pushImage("r", "", 1, func(m *v1.Manifest) {
				m.ArtifactType = tt.artifactType
				m.Subject = &subjDesc
			})
			r := tr.getManifest("r", art.Digest.String())
			require.Equal(t, http.StatusOK, r.Status)

			// Push again to see the header: pushes are idempotent.
			r = tr.putManifest("r", art.Digest.String(), MediaTypeOCIManifest, art.Manifest)
			require.Equal(t, http.StatusCreated, r.Status)
			assert.Equal(t, subject.Digest.String(), r.Header.Get("OCI-Subject"))
		})
	}
}

func TestManifestDelete(t *testing.T) { onEngines(t, testManifestDelete) }

func testManifestDelete(t *testing.T) {
	tr := newTestRegistry(t)
	img := tr.pushImage("r", "v1", 1)
	r := tr.putManifest("r", img.Digest.String()+"?tag=v2", MediaTypeOCIManifest, img.Manifest)
	require.Equal(t, http.StatusCreated, r.Status)
	keep := tr.pushImage("r", "keep", 1)
	require.Equal(t, []string{"keep", "v1", "v2"}, tr.tagList("r"))

	t.Run("tag", func(t *testing.T) {
		r := tr.do(http.MethodDelete, "/v2/r/manifests/v2", nil, nil)
		require.Equal(t, http.StatusAccepted, r.Status, "body: %s", r.Body)
		tr.requireNoManifest("r", "v2")
		assert.Equal(t, []string{"keep", "v1"}, tr.tagList("r"))
		r = tr.getManifest("r", img.Digest.String())
		require.Equal(t, http.StatusOK, r.Status, "the manifest stays by digest")
		assert.Equal(t, img.Manifest, r.Body)
	})
	t.Run("manifest removes its tags", func(t *testing.T) {
		r := tr.do(http.MethodDelete, "/v2/r/manifests/"+img.Digest.String(), nil, nil)
		require.Equal(t, http.StatusAccepted, r.Status, "body: %s", r.Body)
		tr.requireNoManifest("r", img.Digest.String())
		tr.requireNoManifest("r", "v1")
		assert.Equal(t, []string{"keep"}, tr.tagList("r"))
		require.Equal(t, http.StatusOK, tr.getManifest("r", keep.Digest.String()).Status)
	})
	t.Run("unknown", func(t *testing.T) {
		for _, ref := range []string{"v1", "never", img.Digest.String(), digest.FromString("x").String()} {
			requireError(t, tr.do(http.MethodDelete, "/v2/r/manifests/"+ref, nil, nil), http.StatusNotFound, CodeManifestUnknown)
		}
	})
	t.Run("other repositories keep their copy", func(t *testing.T) {
		tr.pushImageBlobs("s", img)
		tr.pushManifest("s", "v1", MediaTypeOCIManifest, img.Manifest)
		r := tr.do(http.MethodDelete, "/v2/r/manifests/"+keep.Digest.String(), nil, nil)
		require.Equal(t, http.StatusAccepted, r.Status)
		r = tr.getManifest("s", "v1")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, img.Manifest, r.Body)
	})
}

// Fields berth does not know, key order and whitespace survive byte for byte.
func TestManifestUnknownFieldsPreserved(t *testing.T) {
	onEngines(t, testManifestUnknownFieldsPreserved)
}

func testManifestUnknownFieldsPreserved(t *testing.T) {
	tr := newTestRegistry(t)
	config := []byte(`{"architecture":"arm64","os":"linux"}`)
	layer := randomBytes(100)
	tr.pushBlob("r", config)
	tr.pushBlob("r", layer)
	cd, ld := digest.FromBytes(config), digest.FromBytes(layer)
	body := []byte(`{
  "x-vendor": {"nested": [1, 2.50, "\u00e9", null], "flag": true},
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "` + cd.String() + `", "size": ` +
		strconv.Itoa(len(config)) + `, "x-extra": "kept"},
  "layers": [{"size": 100, "digest": "` + ld.String() + `", "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}],
  "annotations": {"org.example.z": "1", "org.example.a": "2"},
  "zzz": 1e3
}
`)
	d := tr.pushManifest("r", "odd", MediaTypeOCIManifest, body)
	r := tr.getManifest("r", "odd")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, string(body), string(r.Body))
	assert.Equal(t, d.String(), r.Header.Get("Docker-Content-Digest"))
}

func TestDockerManifestTypes(t *testing.T) { onEngines(t, testDockerManifestTypes) }

func testDockerManifestTypes(t *testing.T) {
	tr := newTestRegistry(t)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}`)
	layer := randomBytes(300)
	tr.pushBlob("d", config)
	tr.pushBlob("d", layer)
	m := mustJSON(t, map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeDockerManifest,
		"config":        descriptorOf("application/vnd.docker.container.image.v1+json", config),
		"layers":        []v1.Descriptor{descriptorOf("application/vnd.docker.image.rootfs.diff.tar.gzip", layer)},
	})
	md := tr.pushManifest("d", "amd64", MediaTypeDockerManifest, m)

	child := descriptorOf(MediaTypeDockerManifest, m)
	child.Platform = &v1.Platform{Architecture: "amd64", OS: "linux"}
	list := indexOf(t, MediaTypeDockerList, child)
	ld := tr.pushManifest("d", "latest", MediaTypeDockerList, list)

	tests := []struct {
		ref, mediaType string
		body           []byte
		d              digest.Digest
	}{
		{"amd64", MediaTypeDockerManifest, m, md},
		{"latest", MediaTypeDockerList, list, ld},
	}
	for _, tt := range tests {
		r := tr.getManifest("d", tt.ref)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, tt.mediaType, r.Header.Get("Content-Type"))
		assert.Equal(t, tt.body, r.Body)
		assert.Equal(t, tt.d.String(), r.Header.Get("Docker-Content-Digest"))
	}
}

func TestNestedIndex(t *testing.T) { onEngines(t, testNestedIndex) }

func testNestedIndex(t *testing.T) {
	tr := newTestRegistry(t)
	a := tr.pushImage("n", "", 1)
	b := tr.pushImage("n", "", 1)
	inner := indexOf(t, MediaTypeOCIIndex, descriptorOf(MediaTypeOCIManifest, a.Manifest))
	innerD := tr.pushManifest("n", "inner", MediaTypeOCIIndex, inner)
	outer := indexOf(t, MediaTypeOCIIndex,
		descriptorOf(MediaTypeOCIIndex, inner), descriptorOf(MediaTypeOCIManifest, b.Manifest))
	tr.pushManifest("n", "outer", MediaTypeOCIIndex, outer)

	r := tr.getManifest("n", "outer")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, MediaTypeOCIIndex, r.Header.Get("Content-Type"))
	assert.Equal(t, outer, r.Body)
	r = tr.getManifest("n", innerD.String())
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, inner, r.Body)

	// An index needs its children in the same repository.
	requireError(t, tr.putManifest("elsewhere", "outer", MediaTypeOCIIndex, outer),
		http.StatusBadRequest, CodeManifestBlobUnknown)
}

// A descriptor's data field carries its content: the blob need not be
// uploaded, but the data must match the digest and size.
func TestDescriptorDataField(t *testing.T) { onEngines(t, testDescriptorDataField) }

func testDescriptorDataField(t *testing.T) {
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	tests := []struct {
		name   string
		edit   func(*v1.Descriptor)
		status int
	}{
		{"valid", func(*v1.Descriptor) {}, http.StatusCreated},
		{"data does not match digest", func(d *v1.Descriptor) { d.Data = []byte(`{"architecture":"arm64","os":"linux"}`) }, http.StatusBadRequest},
		{"data does not match size", func(d *v1.Descriptor) { d.Size++ }, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			img := randomImage(t, 0, func(m *v1.Manifest) {
				m.Config = descriptorOf(v1.MediaTypeImageConfig, config)
				m.Config.Data = config
				tt.edit(&m.Config)
			})
			r := tr.putManifest("r", "t", MediaTypeOCIManifest, img.Manifest)
			if tt.status != http.StatusCreated {
				requireError(t, r, tt.status, CodeManifestInvalid)
				tr.requireNoManifest("r", "t")
				tr.requireNoManifest("r", img.Digest.String())
				assert.Nil(t, tr.tagList("r"))
				return
			}
			require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
			r = tr.getManifest("r", "t")
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, img.Manifest, r.Body)
		})
	}
}

// Non-distributable (foreign) layers are served from elsewhere, so the
// registry accepts them without the blob.
func TestNonDistributableLayer(t *testing.T) { onEngines(t, testNonDistributableLayer) }

func testNonDistributableLayer(t *testing.T) {
	tests := []struct {
		name      string
		mediaType string
		urls      []string
	}{
		{"OCI non-distributable", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", []string{"https://example.com/layer"}},
		{"OCI non-distributable without urls", "application/vnd.oci.image.layer.nondistributable.v1.tar", nil},
		{"Docker foreign", mediaTypeDockerForeign, []string{"https://mcr.example.com/layer"}},
		{"regular layer with urls", v1.MediaTypeImageLayerGzip, []string{"https://example.com/layer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			foreign := randomBytes(64)
			img := tr.pushImage("win", "ltsc", 1, func(m *v1.Manifest) {
				l := descriptorOf(tt.mediaType, foreign)
				l.URLs = tt.urls
				m.Layers = append(m.Layers, l)
			})
			r := tr.getManifest("win", "ltsc")
			require.Equal(t, http.StatusOK, r.Status)
			assert.Equal(t, img.Manifest, r.Body)
			tr.requireNoBlob("win", digest.FromBytes(foreign))
		})
	}
}
