package main

// Proxy cache projects through the whole server with auth on: a real CNCF
// Distribution upstream, the management API creating the registry and
// the project, crane and skopeo pulling through it, an outage and a
// recovery.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/internal/distributiontest"
	"github.com/berthlabs/berth/internal/testimage"
	"github.com/berthlabs/berth/internal/testtool"
)

var ociAccept = []string{"Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"}

func TestProxyCacheThroughTheServer(t *testing.T) {
	up := distributiontest.Start(t, distributiontest.Options{})
	img, err := testimage.Random(2<<20, 41)
	require.NoError(t, err)
	pushUpstream(t, up.Host+"/team/app:v1", img)
	idx := multiPlatformIndex(t)
	ir, err := name.ParseReference(up.Host+"/team/multi:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ir, idx))

	a := startAuthApp(t)
	loc := e2eAdmin(t, a, http.MethodPost, "/registries", api.Registry{Name: "upstream", URL: up.URL}, http.StatusCreated).
		header.Get("Location")
	regID, err := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)
	require.NoError(t, err)
	public := true
	e2eAdmin(t, a, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "cache", Public: &public, RegistryID: &regID},
		http.StatusCreated)

	// crane: byte-identical manifest and layers.
	wantRaw, _ := img.RawManifest()
	out, err := a.crane(t, "admin", e2eAdminPassword, "manifest", a.host+"/cache/team/app:v1")
	require.NoError(t, err, out)
	assert.Equal(t, string(wantRaw), out)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	blobFile := filepath.Join(t.TempDir(), "layer")
	out, err = a.crane(t, "admin", e2eAdminPassword, "blob", a.host+"/cache/team/app@"+ld.String())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(blobFile, []byte(out), 0o600))
	assert.Equal(t, ld.Hex, sha256Hex([]byte(out)), "the layer is byte-identical")

	// skopeo: the whole index by tag, then one platform.
	skopeo := testtool.Require(t, "skopeo")
	creds := "--src-creds=admin:" + e2eAdminPassword
	dir := t.TempDir()
	// (skopeo compresses these uncompressed layers for its layout, which
	// changes the manifests; the configs, copied as they are and checked
	// against their digests, tell the platform images apart.)
	runTool(t, skopeo, "copy", "--all", "--src-tls-verify=false", creds,
		"docker://"+a.host+"/cache/team/multi:v1", "oci:"+filepath.Join(dir, "all")+":v1")
	runTool(t, skopeo, "copy", "--override-os=linux", "--override-arch=arm64", "--src-tls-verify=false", creds,
		"docker://"+a.host+"/cache/team/multi:v1", "oci:"+filepath.Join(dir, "arm")+":v1")
	for _, arch := range []string{"amd64", "arm64"} {
		c := configOf(t, idx, arch)
		assert.FileExists(t, filepath.Join(dir, "all", "blobs", c.Algorithm, c.Hex), "%s config, all platforms", arch)
		_, err := os.Stat(filepath.Join(dir, "arm", "blobs", c.Algorithm, c.Hex))
		assert.Equal(t, arch == "arm64", err == nil, "%s config in the arm64 copy", arch)
	}

	// Pushes are refused; the registry cannot be deleted under the
	// project; the project got the default retention policy.
	src := writeRandomImage(t)
	out, err = a.crane(t, "admin", e2eAdminPassword, "push", src, a.host+"/cache/team/mine:v1")
	require.Error(t, err)
	assert.Contains(t, out, "proxy cache")
	r := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodDelete, api.BasePath+"/registries/"+strconv.FormatInt(regID, 10), nil)
	assert.Equal(t, http.StatusPreconditionFailed, r.status, r.String())
	p := e2eJSON[api.Project](t, e2eAdmin(t, a, http.MethodGet, "/projects/cache", nil, http.StatusOK))
	assert.Equal(t, regID, p.RegistryID)
	require.NotNil(t, p.Metadata.RetentionID, "the default retention policy")
	pol := e2eAdmin(t, a, http.MethodGet, "/retentions/"+*p.Metadata.RetentionID, nil, http.StatusOK)
	assert.Contains(t, string(pol.body), `"nDaysSinceLastPull"`)

	// Outage: cached content by tag and digest, with a warning; the
	// never-cached fails naming the upstream.
	imgDigest, _ := img.Digest()
	up.Stop()
	r = e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/cache/team/app/manifests/v1", nil, ociAccept...)
	require.Equal(t, http.StatusOK, r.status, r.String())
	assert.Equal(t, imgDigest.String(), r.header.Get("Docker-Content-Digest"))
	assert.Contains(t, r.header.Get("Warning"), up.Host)
	r = e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/cache/team/app/manifests/"+imgDigest.String(), nil, ociAccept...)
	assert.Equal(t, http.StatusOK, r.status)
	out, err = a.crane(t, "admin", e2eAdminPassword, "blob", a.host+"/cache/team/app@"+ld.String())
	require.NoError(t, err)
	assert.Equal(t, ld.Hex, sha256Hex([]byte(out)))
	r = e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/v2/cache/team/other/manifests/v1", nil, ociAccept...)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.Contains(t, string(r.body), up.Host)
	metrics := e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, "/metrics", nil)
	assert.Contains(t, string(metrics.body), "berth_proxy_stale_serves_total ")
	assert.NotContains(t, string(metrics.body), "berth_proxy_stale_serves_total 0\n")

	// Back up, the tag moved: the next pull has the new image.
	up.Restart()
	moved, err := testimage.Random(1<<20, 42)
	require.NoError(t, err)
	pushUpstream(t, up.Host+"/team/app:v1", moved)
	movedRaw, _ := moved.RawManifest()
	out, err = a.crane(t, "admin", e2eAdminPassword, "manifest", a.host+"/cache/team/app:v1")
	require.NoError(t, err, out)
	assert.Equal(t, string(movedRaw), out)
}

func pushUpstream(t *testing.T, at string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(at, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img, remote.WithContext(t.Context())))
}

func multiPlatformIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for i, arch := range []string{"amd64", "arm64"} {
		img, err := testimage.Random(128<<10, uint64(50+i))
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// configOf is the config digest of idx's image for arch.
func configOf(t *testing.T, idx v1.ImageIndex, arch string) v1.Hash {
	t.Helper()
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Architecture == arch {
			img, err := idx.Image(d.Digest)
			require.NoError(t, err)
			h, err := img.ConfigName()
			require.NoError(t, err)
			return h
		}
	}
	t.Fatalf("no %s image in the index", arch)
	return v1.Hash{}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// runTool runs a client program and fails the test, with its output, when
// it fails.
func runTool(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", filepath.Base(bin), strings.Join(args, " "), out)
}
