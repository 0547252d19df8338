package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

// blobDigests lists an image's config and layer digests.
func blobDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	m, err := img.Manifest()
	require.NoError(t, err)
	out := []string{m.Config.Digest.String()}
	for _, l := range m.Layers {
		out = append(out, l.Digest.String())
	}
	return out
}

// It runs on the embedded store and on a scale-out node's.
func TestCrane(t *testing.T) {
	t.Parallel()
	onStores(t, testCrane)
}

func testCrane(t *testing.T, start func(t *testing.T) *berth) {
	crane := requireTool(t, "crane")
	b := start(t)
	env := clientEnv(t)
	work := t.TempDir()
	cr := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(string(run(t, env, work, crane, append(args, "--insecure")...)))
	}
	crFail := func(args ...string) string {
		t.Helper()
		return runFail(t, env, work, crane, append(args, "--insecure")...)
	}
	src := b.host + "/e2e/crane"
	dst := b.host + "/e2e/crane-copy"

	// push: a random three-layer image from a docker-save tarball.
	rnd, err := random.Image(2048, 3)
	require.NoError(t, err)
	tarPath := filepath.Join(work, "image.tar")
	tag, err := name.NewTag("example.invalid/e2e/crane:v1")
	require.NoError(t, err)
	require.NoError(t, tarball.WriteToFile(tarPath, tag, rnd))
	img, err := tarball.ImageFromPath(tarPath, nil)
	require.NoError(t, err)
	want, err := img.Digest()
	require.NoError(t, err)
	wantRaw, err := img.RawManifest()
	require.NoError(t, err)
	blobs := blobDigests(t, img)
	require.Len(t, blobs, 4)

	out := cr("push", tarPath, src+":v1")
	assert.Equal(t, src+"@"+want.String(), out, "crane push prints the pushed reference")
	assert.Equal(t, want.String(), cr("digest", src+":v1"))
	assert.Equal(t, string(wantRaw), cr("manifest", src+":v1"), "manifest bytes as pushed")
	for _, d := range blobs {
		resp, body := httpGet(t, b.url+"/v2/e2e/crane/blobs/"+d, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", d, body)
		assert.Equal(t, d, sha256Digest(body), "blob content")
	}

	// pull: as a tarball and as an OCI layout; same image.
	pulledTar := filepath.Join(work, "pulled.tar")
	cr("pull", src+":v1", pulledTar)
	pimg, err := tarball.ImageFromPath(pulledTar, nil)
	require.NoError(t, err)
	pd, err := pimg.Digest()
	require.NoError(t, err)
	assert.Equal(t, want, pd, "digest of the pulled tarball")
	assert.Equal(t, blobs, blobDigests(t, pimg))

	pulledOCI := filepath.Join(work, "pulled-oci")
	cr("pull", "--format", "oci", src+":v1", pulledOCI)
	lp, err := layout.FromPath(pulledOCI)
	require.NoError(t, err)
	ii, err := lp.ImageIndex()
	require.NoError(t, err)
	im, err := ii.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 1)
	assert.Equal(t, want, im.Manifests[0].Digest, "manifest digest in the pulled layout")
	for _, d := range blobs {
		h, err := v1.NewHash(d)
		require.NoError(t, err)
		content, err := os.ReadFile(filepath.Join(pulledOCI, "blobs", h.Algorithm, h.Hex))
		require.NoError(t, err)
		assert.Equal(t, d, sha256Digest(content), "blob file in the pulled layout")
	}

	// tag, ls.
	cr("tag", src+":v1", "latest")
	assert.Equal(t, []string{"latest", "v1"}, sortedLines(cr("ls", src)))

	// copy within the registry: same digest; every blob arrives by a
	// cross-repository mount from the source, none is uploaded again.
	cr("copy", src+":v1", dst+":v1")
	assert.Equal(t, want.String(), cr("digest", dst+":v1"))
	assert.Equal(t, []string{"v1"}, sortedLines(cr("ls", dst)))
	var mounted []string
	for _, e := range b.events.match(func(e registry.Event) bool {
		return e.Action == registry.EventMount && e.Repository == "e2e/crane-copy"
	}) {
		assert.Equal(t, "e2e/crane", e.From, "mount source of %s", e.Digest)
		mounted = append(mounted, e.Digest.String())
	}
	assert.ElementsMatch(t, blobs, mounted, "blobs mounted into e2e/crane-copy")
	uploaded := b.events.match(func(e registry.Event) bool {
		return e.Action == registry.EventPush && e.Target == registry.TargetBlob && e.Repository == "e2e/crane-copy"
	})
	assert.Empty(t, uploaded, "no blob uploaded into e2e/crane-copy")
	for _, d := range blobs {
		resp, body := httpGet(t, b.url+"/v2/e2e/crane-copy/blobs/"+d, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "mounted %s: %s", d, body)
		assert.Equal(t, d, sha256Digest(body))
	}

	// A referrer: an artifact whose subject is the image, pushed by digest
	// with go-containerregistry; then read back with crane.
	mt, err := img.MediaType()
	require.NoError(t, err)
	subject := v1.Descriptor{MediaType: mt, Digest: want, Size: int64(len(wantRaw))}
	payload := []byte(`{"signed":"` + want.String() + `"}`)
	art := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	art = mutate.ConfigMediaType(art, "application/vnd.example.signature.config.v1+json")
	art, err = mutate.AppendLayers(art, static.NewLayer(payload, "application/vnd.example.signature.v1+json"))
	require.NoError(t, err)
	art = mutate.Annotations(art, map[string]string{"org.example.signer": "e2e"}).(v1.Image)
	art = mutate.Subject(art, subject).(v1.Image)
	artDigest, err := art.Digest()
	require.NoError(t, err)
	artRef, err := name.NewDigest(src+"@"+artDigest.String(), name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(artRef, art, remote.WithContext(t.Context())))

	rawArt := cr("manifest", src+"@"+artDigest.String())
	assert.Equal(t, artDigest.String(), sha256Digest([]byte(rawArt)))
	var am v1.Manifest
	require.NoError(t, json.Unmarshal([]byte(rawArt), &am))
	require.NotNil(t, am.Subject)
	assert.Equal(t, want, am.Subject.Digest, "referrer's subject")
	assert.Equal(t, types.MediaType("application/vnd.example.signature.config.v1+json"), am.Config.MediaType)
	require.Len(t, am.Layers, 1)
	assert.Equal(t, sha256Digest(payload), am.Layers[0].Digest.String())
	assert.Equal(t, "e2e", am.Annotations["org.example.signer"])
	assert.Equal(t, string(payload), cr("blob", src+"@"+am.Layers[0].Digest.String()))
	// The registry answered the push with OCI-Subject, so no fallback
	// referrers tag (sha256-<hex>) was created.
	assert.Equal(t, []string{"latest", "v1"}, sortedLines(cr("ls", src)))
	resp, body := httpGet(t, b.url+"/v2/e2e/crane/referrers/"+want.String(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var refs v1.IndexManifest
	require.NoError(t, json.Unmarshal(body, &refs))
	require.Len(t, refs.Manifests, 1)
	assert.Equal(t, artDigest, refs.Manifests[0].Digest)
	assert.Equal(t, "application/vnd.example.signature.config.v1+json", refs.Manifests[0].ArtifactType)
	assert.Equal(t, "e2e", refs.Manifests[0].Annotations["org.example.signer"])

	// catalog.
	assert.Equal(t, []string{"e2e/crane", "e2e/crane-copy"}, sortedLines(cr("catalog", b.host)))

	// delete the copy by digest: gone there (with its tag), intact in the
	// source repository that shares the same manifest and blobs.
	cr("delete", dst+"@"+want.String())
	msg := crFail("manifest", dst+"@"+want.String())
	assert.Contains(t, msg, "MANIFEST_UNKNOWN")
	msg = crFail("manifest", dst+":v1")
	assert.Contains(t, msg, "MANIFEST_UNKNOWN")
	assert.Empty(t, sortedLines(cr("ls", dst)))
	assert.Equal(t, string(wantRaw), cr("manifest", src+":v1"))
	assert.Equal(t, string(wantRaw), cr("manifest", src+"@"+want.String()))
	deletes := b.events.match(func(e registry.Event) bool {
		return e.Action == registry.EventDelete && e.Target == registry.TargetManifest
	})
	require.Len(t, deletes, 1)
	assert.Equal(t, "e2e/crane-copy", deletes[0].Repository)
	assert.Equal(t, want.String(), deletes[0].Digest.String())
}

func sortedLines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}
