package proxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/distributiontest"
	"github.com/berthlabs/berth/internal/testimage"
	"github.com/berthlabs/berth/proxy"
)

// Pulling through the cache gives the upstream's exact manifests and
// layers, for a single image and a multi-platform index (by tag and by
// platform), from CNCF Distribution and from another berth; a second pull
// is served locally.
func TestPullThrough(t *testing.T) {
	for _, tc := range []struct {
		name     string
		upstream func(t *testing.T) (url, host string)
	}{
		{"distribution", func(t *testing.T) (string, string) {
			d := distributiontest.Start(t, distributiontest.Options{})
			return d.URL, d.Host
		}},
		{"berth", func(t *testing.T) (string, string) { return berthUpstream(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upURL, upHost := tc.upstream(t)
			e := newCache(t, upURL)
			img := pushRandom(t, upHost+"/team/app:v1", 3<<20, 1)
			idx := pushIndex(t, upHost+"/team/multi:v1")

			got, err := remote.Image(ref(t, e.host+"/hub/team/app:v1"))
			require.NoError(t, err)
			verifyImage(t, got)
			sameManifest(t, img, got)

			gotIdx, err := remote.Index(ref(t, e.host+"/hub/team/multi:v1"))
			require.NoError(t, err)
			wantRaw, _ := idx.RawManifest()
			gotRaw, _ := gotIdx.RawManifest()
			assert.Equal(t, wantRaw, gotRaw, "the index is byte-identical")

			arm, err := remote.Image(ref(t, e.host+"/hub/team/multi:v1"),
				remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
			require.NoError(t, err)
			verifyImage(t, arm)
			armWant, _ := idx.Image(platformDigest(t, idx, "arm64"))
			sameManifest(t, armWant, arm)

			e.settle(t)
			// Pull times are recorded for cached content as for pushed:
			// retention's "pulled within" keeps what is in use.
			require.NoError(t, e.reg.FlushPulls(context.Background()))
			for _, repo := range []string{"hub/team/app", "hub/team/multi"} {
				a, err := e.reg.GetArtifact(context.Background(), repo, "v1")
				require.NoError(t, err)
				assert.False(t, a.PulledAt.IsZero(), "%s:v1 has a pull time", repo)
			}
			fills := e.cache.Stats()
			again, err := remote.Image(ref(t, e.host+"/hub/team/app:v1"))
			require.NoError(t, err)
			verifyImage(t, again)
			assert.Equal(t, fills, e.cache.Stats(), "the second pull is served from the cache")
		})
	}
}

// An upstream outage: cached images are served by tag and by digest, with
// a warning; images never cached fail with an error naming the upstream.
// Once the upstream is back, a moved tag is picked up.
func TestOutage(t *testing.T) {
	up := distributiontest.Start(t, distributiontest.Options{})
	e := newCache(t, up.URL)
	img := pushRandom(t, up.Host+"/team/app:v1", 1<<20, 2)
	pushRandom(t, up.Host+"/team/never:v1", 1<<10, 3)
	d, _ := img.Digest()
	_, err := remote.Image(ref(t, e.host+"/hub/team/app:v1"))
	require.NoError(t, err)
	pullAll(t, e.host+"/hub/team/app:v1")

	up.Stop()
	status, h, body := get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/app/manifests/v1", manifestAccept...)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.Contains(t, h.Get("Warning"), up.Host, "the warning names the upstream")
	assert.Equal(t, d.String(), h.Get("Docker-Content-Digest"))
	status, h, _ = get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/app/manifests/"+d.String(), manifestAccept...)
	require.Equal(t, http.StatusOK, status)
	assert.Empty(t, h.Get("Warning"), "by digest the cache needs no upstream")
	pullAll(t, e.host+"/hub/team/app:v1") // layers too
	assert.Positive(t, e.cache.Stats().StaleServes)

	status, _, body = get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/never/manifests/v1", manifestAccept...)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, string(body), up.Host)

	up.Restart()
	moved := pushRandom(t, up.Host+"/team/app:v1", 1<<20, 4)
	md, _ := moved.Digest()
	status, h, _ = get(t, http.MethodHead, e.srv.URL+"/v2/hub/team/app/manifests/v1", manifestAccept...)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, md.String(), h.Get("Docker-Content-Digest"), "the moved tag is picked up")
	assert.Empty(t, h.Get("Warning"))
	pullAll(t, e.host+"/hub/team/app:v1")
}

// A tag deleted upstream keeps being served from the cache by default;
// WithServeDeletedTags(false) follows the upstream.
func TestDeletedUpstreamTag(t *testing.T) {
	for _, serve := range []bool{true, false} {
		t.Run(fmt.Sprint("serve=", serve), func(t *testing.T) {
			upURL, upHost := berthUpstream(t)
			e := newCache(t, upURL, proxy.WithServeDeletedTags(serve))
			pushRandom(t, upHost+"/team/app:v1", 1<<10, 5)
			pullAll(t, e.host+"/hub/team/app:v1")
			require.NoError(t, remote.Delete(ref(t, upHost+"/team/app:v1")))

			status, h, _ := get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/app/manifests/v1", manifestAccept...)
			if serve {
				assert.Equal(t, http.StatusOK, status)
				assert.Contains(t, h.Get("Warning"), "not found")
				return
			}
			assert.Equal(t, http.StatusNotFound, status)
			status, _, _ = get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/app/tags/list")
			assert.Equal(t, http.StatusOK, status)
		})
	}
}

// Referrers of an upstream image (a signature, an SBOM) are reachable
// through the cache, and then held by it.
func TestReferrersProxied(t *testing.T) {
	up := distributiontest.Start(t, distributiontest.Options{})
	e := newCache(t, up.URL)
	img := pushRandom(t, up.Host+"/team/app:v1", 1<<10, 6)
	sd, _ := img.Digest()
	sig := referrer(t, img)
	require.NoError(t, remote.Write(ref(t, up.Host+"/team/app@"+mustDigest(t, sig).String()), sig))

	// Pulling the image brings its referrers along: the registry lists
	// them without asking the upstream (a request through its Transport
	// never does), as a content trust gate would.
	pullAll(t, e.host+"/hub/team/app:v1")
	req, err := http.NewRequest(http.MethodGet, "http://x/v2/hub/team/app/referrers/"+sd.String(), nil)
	require.NoError(t, err)
	resp, err := e.reg.Transport("trust gate").RoundTrip(req)
	require.NoError(t, err)
	var idx v1.IndexManifest
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&idx))
	resp.Body.Close()
	require.Len(t, idx.Manifests, 1, "the signature came with the image")

	status, _, body := get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/app/referrers/"+sd.String())
	require.Equal(t, http.StatusOK, status, string(body))
	require.NoError(t, json.Unmarshal(body, &idx))
	require.Len(t, idx.Manifests, 1)
	assert.Equal(t, mustDigest(t, sig), idx.Manifests[0].Digest)
	assert.Equal(t, "application/vnd.example.signature", idx.Manifests[0].ArtifactType)

	up.Stop()
	status, h, body := get(t, http.MethodGet, e.srv.URL+"/v2/hub/team/app/referrers/"+sd.String())
	require.Equal(t, http.StatusOK, status)
	assert.NotEmpty(t, h.Get("Warning"))
	require.NoError(t, json.Unmarshal(body, &idx))
	assert.Len(t, idx.Manifests, 1, "held by the cache")
}

func referrer(t *testing.T, subject v1.Image) v1.Image {
	t.Helper()
	desc, err := partialDescriptor(subject)
	require.NoError(t, err)
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, "application/vnd.example.signature")
	img, err = mutate.AppendLayers(img, static.NewLayer([]byte("signature"), "application/vnd.example.sig.layer"))
	require.NoError(t, err)
	return mutate.Subject(img, desc).(v1.Image)
}

func partialDescriptor(img v1.Image) (v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := img.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	return v1.Descriptor{Digest: d, Size: sz, MediaType: mt}, err
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	require.NoError(t, err)
	return d
}

func sameManifest(t *testing.T, want, got v1.Image) {
	t.Helper()
	w, err := want.RawManifest()
	require.NoError(t, err)
	g, err := got.RawManifest()
	require.NoError(t, err)
	assert.Equal(t, string(w), string(g), "byte-identical manifest")
	wl, _ := want.Layers()
	gl, _ := got.Layers()
	require.Len(t, gl, len(wl))
	for i := range wl {
		wr, _ := wl[i].Compressed()
		gr, err := gl[i].Compressed()
		require.NoError(t, err)
		wb, _ := io.ReadAll(wr)
		gb, err := io.ReadAll(gr)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(wb, gb), "layer %d byte-identical", i)
	}
}

// pullAll reads an image's manifest, config and layers through a client.
func pullAll(t *testing.T, at string) {
	t.Helper()
	img, err := remote.Image(ref(t, at))
	require.NoError(t, err)
	verifyImage(t, img)
}

// verifyImage reads every blob of img and checks it against its digest
// (validate.Image would gunzip layers; these are uncompressed).
func verifyImage(t *testing.T, img v1.Image) {
	t.Helper()
	raw, err := img.RawConfigFile()
	require.NoError(t, err)
	cd, err := img.ConfigName()
	require.NoError(t, err)
	require.Equal(t, cd.Hex, fmt.Sprintf("%x", sha256.Sum256(raw)), "config digest")
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers {
		want, err := l.Digest()
		require.NoError(t, err)
		rc, err := l.Compressed()
		require.NoError(t, err)
		h := sha256.New()
		_, err = io.Copy(h, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, want.Hex, fmt.Sprintf("%x", h.Sum(nil)), "layer digest")
	}
}

func pushIndex(t *testing.T, at string) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for i, arch := range []string{"amd64", "arm64"} {
		img, err := testimage.Random(64<<10, uint64(100+i))
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	require.NoError(t, remote.WriteIndex(ref(t, at), idx))
	return idx
}

func platformDigest(t *testing.T, idx v1.ImageIndex, arch string) v1.Hash {
	t.Helper()
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Architecture == arch {
			return d.Digest
		}
	}
	t.Fatalf("no %s in the index", arch)
	return v1.Hash{}
}

// A tag that moves back to content the cache holds is re-pointed without
// fetching the manifest again: only the HEAD reaches the upstream, which
// Docker Hub does not count against its pull limit.
func TestTagMovedBackCostsNoPull(t *testing.T) {
	up := distributiontest.Start(t, distributiontest.Options{AccessLog: true})
	e := newCache(t, up.URL)
	first := pushRandom(t, up.Host+"/team/app:v1", 1<<10, 21)
	fd, _ := first.Digest()
	pullAll(t, e.host+"/hub/team/app:v1")
	pushRandom(t, up.Host+"/team/app:v1", 1<<10, 22)
	pullAll(t, e.host+"/hub/team/app:v1")
	require.NoError(t, remote.Tag(ref(t, up.Host+"/team/app:v1").Context().Tag("v1"), first))

	status, h, _ := get(t, http.MethodHead, e.srv.URL+"/v2/hub/team/app/manifests/v1", manifestAccept...)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, fd.String(), h.Get("Docker-Content-Digest"), "the tag followed the upstream back")
	gets := func() int {
		return up.Count(func(r distributiontest.Request) bool {
			return r.Method == http.MethodGet && r.Path == "/v2/team/app/manifests/"+fd.String()
		})
	}
	require.Eventually(t, func() bool { return gets() >= 1 }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, 1, gets(), "the first manifest was fetched once, when first pulled")
}
