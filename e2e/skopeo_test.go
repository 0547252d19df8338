package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

var e2ePlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
	{OS: "linux", Architecture: "s390x"},
}

// layoutIndex reads the image index tagged tag in an OCI layout directory:
// its descriptor in index.json and its manifest.
func layoutIndex(t *testing.T, dir, tag string) (v1.Descriptor, *v1.IndexManifest, v1.ImageIndex) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	require.NoError(t, err)
	root, err := lp.ImageIndex()
	require.NoError(t, err)
	rm, err := root.IndexManifest()
	require.NoError(t, err)
	for _, d := range rm.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] != tag {
			continue
		}
		require.True(t, d.MediaType.IsIndex(), "%s:%s is %s, want an index", dir, tag, d.MediaType)
		ii, err := root.ImageIndex(d.Digest)
		require.NoError(t, err)
		im, err := ii.IndexManifest()
		require.NoError(t, err)
		return d, im, ii
	}
	t.Fatalf("no %q in %s/index.json: %+v", tag, dir, rm.Manifests)
	return v1.Descriptor{}, nil, nil
}

// writeMultiPlatformLayout writes an OCI layout at dir holding, under tag,
// an OCI index of one random image per e2ePlatforms entry, each with two or
// three random layers. It returns the index digest and the images by
// manifest digest.
//
// The index is written by hand rather than with mutate.AppendManifests:
// go-containerregistry sets artifactType on each child descriptor, a field
// skopeo 1.9 (containers/image 5.23) drops when it re-serialises the index,
// which would change its digest on the way.
func writeMultiPlatformLayout(t *testing.T, dir, tag string) (v1.Hash, map[string]v1.Image) {
	t.Helper()
	lp, err := layout.Write(dir, empty.Index)
	require.NoError(t, err)
	images := map[string]v1.Image{}
	idxManifest := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for i, p := range e2ePlatforms {
		img := randomOCIImage(t, p, 2+i%2)
		require.NoError(t, lp.WriteImage(img))
		d, err := img.Digest()
		require.NoError(t, err)
		size, err := img.Size()
		require.NoError(t, err)
		images[d.String()] = img
		idxManifest.Manifests = append(idxManifest.Manifests, v1.Descriptor{
			MediaType: types.OCIManifestSchema1, Digest: d, Size: size, Platform: &p,
		})
	}
	idxRaw, err := json.Marshal(idxManifest)
	require.NoError(t, err)
	idxDigest, idxSize, err := v1.SHA256(bytes.NewReader(idxRaw))
	require.NoError(t, err)
	require.NoError(t, lp.WriteBlob(idxDigest, io.NopCloser(bytes.NewReader(idxRaw))))
	require.NoError(t, lp.AppendDescriptor(v1.Descriptor{
		MediaType: types.OCIImageIndex, Digest: idxDigest, Size: idxSize,
		Annotations: map[string]string{"org.opencontainers.image.ref.name": tag},
	}))
	return idxDigest, images
}

// It runs on the embedded store and on a scale-out node's.
func TestSkopeoMultiPlatformRoundTrip(t *testing.T) {
	t.Parallel()
	onStores(t, testSkopeoMultiPlatformRoundTrip)
}

func testSkopeoMultiPlatformRoundTrip(t *testing.T, start func(t *testing.T) *berth) {
	skopeo := requireTool(t, "skopeo")
	b := start(t)
	env := clientEnv(t)
	work := t.TempDir()
	policy := filepath.Join(work, "policy.json")
	require.NoError(t, os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o600))
	sk := func(args ...string) []byte {
		t.Helper()
		return run(t, env, work, skopeo, append([]string{"--policy", policy, "--tmpdir", work}, args...)...)
	}

	srcDir := filepath.Join(work, "src")
	wantIdx, images := writeMultiPlatformLayout(t, srcDir, "v1")
	srcDesc, srcIdx, _ := layoutIndex(t, srcDir, "v1")
	require.Equal(t, wantIdx, srcDesc.Digest)
	require.Len(t, srcIdx.Manifests, 3)

	ref := "docker://" + b.host + "/proj/multi:v1"
	sk("copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "oci:"+srcDir+":v1", ref)

	// The registry holds exactly what was pushed.
	raw := sk("inspect", "--raw", "--tls-verify=false", ref)
	assert.Equal(t, wantIdx.String(), sha256Digest(raw), "skopeo inspect --raw digest of the index")
	var rawIdx v1.IndexManifest
	require.NoError(t, json.Unmarshal(raw, &rawIdx))
	assert.Equal(t, types.OCIImageIndex, rawIdx.MediaType)
	require.Len(t, rawIdx.Manifests, 3)
	for i, d := range rawIdx.Manifests {
		assert.Equal(t, srcIdx.Manifests[i].Digest, d.Digest)
		assert.Equal(t, e2ePlatforms[i].Architecture, d.Platform.Architecture)
		// Each child manifest by digest, raw bytes identical.
		childRaw := sk("inspect", "--raw", "--tls-verify=false", "docker://"+b.host+"/proj/multi@"+d.Digest.String())
		assert.Equal(t, d.Digest.String(), sha256Digest(childRaw))
		wantRaw, err := images[d.Digest.String()].RawManifest()
		require.NoError(t, err)
		assert.Equal(t, string(wantRaw), string(childRaw), "child manifest bytes")
	}

	// skopeo inspect resolves a platform and reports its layers.
	for _, p := range e2ePlatforms {
		out := sk("inspect", "--tls-verify=false", "--override-os", p.OS, "--override-arch", p.Architecture, ref)
		var info struct {
			Name         string
			Digest       string
			Architecture string
			Os           string
			Layers       []string
			RepoTags     []string
		}
		require.NoError(t, json.Unmarshal(out, &info), "%s", out)
		var want v1.Descriptor
		for _, d := range srcIdx.Manifests {
			if d.Platform.Architecture == p.Architecture {
				want = d
			}
		}
		img := images[want.Digest.String()]
		m, err := img.Manifest()
		require.NoError(t, err)
		var wantLayers []string
		for _, l := range m.Layers {
			wantLayers = append(wantLayers, l.Digest.String())
		}
		assert.Equal(t, b.host+"/proj/multi", info.Name)
		// skopeo reports the digest of what the reference names (the
		// index), and the platform's configuration and layers.
		assert.Equal(t, wantIdx.String(), info.Digest, "platform %s", p.Architecture)
		assert.Equal(t, p.Architecture, info.Architecture)
		assert.Equal(t, p.OS, info.Os)
		assert.Equal(t, wantLayers, info.Layers, "platform %s", p.Architecture)
		assert.Equal(t, []string{"v1"}, info.RepoTags)
	}

	// Restart: a new server over the same data directory.
	b.stop()
	b = b.reopen()
	ref = "docker://" + b.host + "/proj/multi:v1"

	// Pull everything back into a new layout: same index, same manifests,
	// same blobs.
	dstDir := filepath.Join(work, "dst")
	sk("copy", "--all", "--preserve-digests", "--src-tls-verify=false", ref, "oci:"+dstDir+":v1")
	dstDesc, dstIdx, dstII := layoutIndex(t, dstDir, "v1")
	assert.Equal(t, srcDesc.Digest, dstDesc.Digest, "index digest after the round trip")
	assert.Equal(t, srcDesc.Size, dstDesc.Size)
	require.Len(t, dstIdx.Manifests, len(srcIdx.Manifests))
	for i, d := range dstIdx.Manifests {
		s := srcIdx.Manifests[i]
		assert.Equal(t, s.Digest, d.Digest, "manifest %d", i)
		assert.Equal(t, s.Size, d.Size)
		assert.Equal(t, s.Platform, d.Platform)

		img, err := dstII.Image(d.Digest)
		require.NoError(t, err)
		orig := images[d.Digest.String()]
		gotCfg, err := img.ConfigName()
		require.NoError(t, err)
		wantCfg, err := orig.ConfigName()
		require.NoError(t, err)
		assert.Equal(t, wantCfg, gotCfg)
		gotLayers, err := img.Layers()
		require.NoError(t, err)
		wantLayers, err := orig.Layers()
		require.NoError(t, err)
		require.Len(t, gotLayers, len(wantLayers))
		for j := range gotLayers {
			// Verify the blob file's bytes, not only the manifest's claim.
			wd, err := wantLayers[j].Digest()
			require.NoError(t, err)
			blob, err := os.ReadFile(filepath.Join(dstDir, "blobs", wd.Algorithm, wd.Hex))
			require.NoError(t, err)
			assert.Equal(t, wd.String(), sha256Digest(blob), "layer %d of %s", j, d.Digest)
		}
	}

	// The registry recorded one tag and the three children by digest only.
	assert.Equal(t, []string{"v1"}, tagList(t, b, "proj/multi"))
	resp, body := httpGet(t, b.url+"/v2/proj/multi/manifests/v1", map[string]string{"Accept": string(types.OCIImageIndex)})
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	assert.Equal(t, string(types.OCIImageIndex), resp.Header.Get("Content-Type"))
	assert.Equal(t, wantIdx.String(), resp.Header.Get("Docker-Content-Digest"))
	assert.True(t, slices.Equal(raw, body), "GET manifest returns the pushed bytes")

	// Registry to registry: the same index under another name, with every
	// layer mounted from proj/multi rather than uploaded again. (skopeo
	// always re-uploads config blobs: containers/image copies them without
	// trying to reuse them.)
	mirror := "docker://" + b.host + "/proj/mirror:v1"
	sk("copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false", ref, mirror)
	assert.Equal(t, raw, sk("inspect", "--raw", "--tls-verify=false", mirror), "mirrored index bytes")
	var layerBlobs, configBlobs []string
	for _, img := range images {
		ds := blobDigests(t, img)
		configBlobs = append(configBlobs, ds[0])
		layerBlobs = append(layerBlobs, ds[1:]...)
	}
	var mounted, uploaded []string
	for _, e := range b.events.match(func(e registry.Event) bool {
		return e.Action == registry.EventMount && e.Repository == "proj/mirror"
	}) {
		assert.Equal(t, "proj/multi", e.From)
		mounted = append(mounted, e.Digest.String())
	}
	for _, e := range b.events.match(func(e registry.Event) bool {
		return e.Action == registry.EventPush && e.Target == registry.TargetBlob && e.Repository == "proj/mirror"
	}) {
		uploaded = append(uploaded, e.Digest.String())
	}
	assert.ElementsMatch(t, layerBlobs, mounted, "layers mounted into proj/mirror")
	assert.Subset(t, configBlobs, uploaded, "only configs uploaded into proj/mirror")
	for _, d := range append(layerBlobs, configBlobs...) {
		resp, body := httpGet(t, b.url+"/v2/proj/mirror/blobs/"+d, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s in proj/mirror: %s", d, body)
		assert.Equal(t, d, sha256Digest(body))
	}

	// skopeo delete removes the mirror's index; the original stays.
	sk("delete", "--tls-verify=false", mirror)
	res := execTool(t, env, work, skopeo, "--policy", policy, "inspect", "--raw", "--tls-verify=false", mirror)
	require.Error(t, res.err, "inspect after delete: %s", res.combined())
	assert.Contains(t, strings.ToLower(res.combined()), "manifest unknown")
	resp, body = httpGet(t, b.url+"/v2/proj/mirror/manifests/"+wantIdx.String(), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	assert.Equal(t, raw, sk("inspect", "--raw", "--tls-verify=false", ref), "original index after deleting the mirror")
}
