package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

const (
	sbomType = "application/vnd.example.sbom+json"
	sigType  = "application/vnd.example.signature"
)

// orasDescriptor is the part of oras's JSON output the test reads.
type orasDescriptor struct {
	Reference    string            `json:"reference"`
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType"`
	Annotations  map[string]string `json:"annotations"`
	Referrers    []orasDescriptor  `json:"referrers"`
}

// It runs on the embedded store and on a scale-out node's.
func TestOrasAttachDiscover(t *testing.T) {
	t.Parallel()
	onStores(t, testOrasAttachDiscover)
}

func testOrasAttachDiscover(t *testing.T, start func(t *testing.T) *berth) {
	oras := requireTool(t, "oras")
	b := start(t)
	env := clientEnv(t)
	work := t.TempDir()
	or := func(args ...string) []byte {
		t.Helper()
		return run(t, env, work, oras, append(args, "--plain-http")...)
	}
	repo := b.host + "/e2e/oras"

	// The subject: a random image pushed with go-containerregistry.
	img, err := random.Image(1024, 2)
	require.NoError(t, err)
	tag, err := name.NewTag(repo+":v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img, remote.WithContext(t.Context())))
	subject, err := img.Digest()
	require.NoError(t, err)

	// attach an SBOM and, to check filtering, a signature.
	sbom := []byte(`{"spdxVersion":"SPDX-2.3","name":"e2e","packages":[{"name":"berth"}]}`)
	require.NoError(t, os.WriteFile(filepath.Join(work, "sbom.json"), sbom, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(work, "sig.bin"), []byte("not really a signature"), 0o600))
	attach := func(artifactType, file, export string) orasDescriptor {
		t.Helper()
		out := or("attach", "--distribution-spec", "v1.1-referrers-api", "--format", "json",
			"--export-manifest", export, "--annotation", "org.example.kind="+artifactType,
			"--artifact-type", artifactType, repo+":v1", file)
		var d orasDescriptor
		require.NoError(t, json.Unmarshal(out, &d), "oras attach output: %s", out)
		manifest, err := os.ReadFile(filepath.Join(work, export))
		require.NoError(t, err)
		require.Equal(t, sha256Digest(manifest), d.Digest, "oras attach reports the digest of the manifest it pushed")
		var m v1.Manifest
		require.NoError(t, json.Unmarshal(manifest, &m))
		require.NotNil(t, m.Subject)
		require.Equal(t, subject, m.Subject.Digest)
		return d
	}
	sbomDesc := attach(sbomType, "sbom.json:application/json", "sbom-manifest.json")
	sigDesc := attach(sigType, "sig.bin", "sig-manifest.json")
	assert.Equal(t, sbomType, sbomDesc.ArtifactType)

	// The push by digest carried the subject; the events say so.
	pushes := b.events.match(func(e registry.Event) bool {
		return e.Action == registry.EventPush && e.Target == registry.TargetManifest && e.Subject != ""
	})
	require.Len(t, pushes, 2)
	assert.Equal(t, subject.String(), pushes[0].Subject.String())
	assert.Equal(t, sbomType, pushes[0].ArtifactType)
	assert.Equal(t, sbomDesc.Digest, pushes[0].Digest.String())
	// Referrers API used, so no sha256-<hex> fallback tag.
	assert.Equal(t, []string{"v1"}, tagList(t, b, "e2e/oras"))

	// discover shows both; with --artifact-type, only the SBOM.
	discover := func(args ...string) orasDescriptor {
		t.Helper()
		out := or(append([]string{"discover", "--format", "json"}, append(args, repo+":v1")...)...)
		var d orasDescriptor
		require.NoError(t, json.Unmarshal(out, &d), "oras discover output: %s", out)
		assert.Equal(t, subject.String(), d.Digest, "discover's subject")
		return d
	}
	all := discover()
	byDigest := map[string]orasDescriptor{}
	for _, r := range all.Referrers {
		byDigest[r.Digest] = r
	}
	require.Len(t, byDigest, 2, "referrers: %+v", all.Referrers)
	require.Contains(t, byDigest, sbomDesc.Digest)
	require.Contains(t, byDigest, sigDesc.Digest)
	assert.Equal(t, sbomType, byDigest[sbomDesc.Digest].ArtifactType)
	assert.Equal(t, sigType, byDigest[sigDesc.Digest].ArtifactType)
	assert.Equal(t, sbomType, byDigest[sbomDesc.Digest].Annotations["org.example.kind"])
	assert.Equal(t, "application/vnd.oci.image.manifest.v1+json", byDigest[sbomDesc.Digest].MediaType)

	only := discover("--artifact-type", sbomType)
	require.Len(t, only.Referrers, 1)
	assert.Equal(t, sbomDesc.Digest, only.Referrers[0].Digest)
	assert.Equal(t, sbomType, only.Referrers[0].ArtifactType)

	// The referrers API directly, filtered and not.
	resp, body := httpGet(t, b.url+"/v2/e2e/oras/referrers/"+subject.String()+"?artifactType="+url.QueryEscape(sbomType), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Equal(t, "application/vnd.oci.image.index.v1+json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "artifactType", resp.Header.Get("OCI-Filters-Applied"))
	var idx v1.IndexManifest
	require.NoError(t, json.Unmarshal(body, &idx))
	require.Len(t, idx.Manifests, 1)
	assert.Equal(t, sbomDesc.Digest, idx.Manifests[0].Digest.String())
	assert.Equal(t, sbomType, idx.Manifests[0].ArtifactType)
	assert.Equal(t, sbomDesc.Size, idx.Manifests[0].Size)

	resp, body = httpGet(t, b.url+"/v2/e2e/oras/referrers/"+subject.String(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Empty(t, resp.Header.Get("OCI-Filters-Applied"))
	idx = v1.IndexManifest{}
	require.NoError(t, json.Unmarshal(body, &idx))
	assert.Len(t, idx.Manifests, 2)

	// Pull the SBOM back: same bytes.
	outDir := filepath.Join(work, "pulled")
	or("pull", "-o", outDir, repo+"@"+sbomDesc.Digest)
	got, err := os.ReadFile(filepath.Join(outDir, "sbom.json"))
	require.NoError(t, err)
	assert.Equal(t, sbom, got)
}
