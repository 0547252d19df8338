package ui_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newJar() http.CookieJar {
	j, _ := cookiejar.New(nil)
	return j
}

// rawManifest is a manifest pushed as its bytes.
type rawManifest struct {
	body []byte
	mt   string
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(m.mt), nil }

func (p *portal) auth() remote.Option {
	return remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})
}

// pushManifest uploads blobs to repo and puts an OCI manifest of them
// under ref (a tag, or "" for its digest); it returns its descriptor.
func (p *portal) pushManifest(t *testing.T, repo, ref string, m v1.Manifest, blobs ...[]byte) v1.Descriptor {
	t.Helper()
	r, err := name.NewRepository(p.Host+"/"+repo, name.Insecure)
	require.NoError(t, err)
	for _, b := range blobs {
		require.NoError(t, remote.WriteLayer(r, static.NewLayer(b, types.OCILayer), p.auth(), remote.WithContext(t.Context())))
	}
	m.SchemaVersion, m.MediaType = 2, v1.MediaTypeImageManifest
	if m.Layers == nil {
		m.Layers = []v1.Descriptor{}
	}
	body, err := json.Marshal(m)
	require.NoError(t, err)
	desc := v1.Descriptor{MediaType: v1.MediaTypeImageManifest, Digest: digest.FromBytes(body), Size: int64(len(body))}
	if ref == "" {
		ref = "@" + desc.Digest.String()
	} else {
		ref = ":" + ref
	}
	target, err := name.ParseReference(p.Host+"/"+repo+ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Put(target, rawManifest{body, v1.MediaTypeImageManifest}, p.auth(), remote.WithContext(t.Context())))
	return desc
}

func blobOf(mediaType string, b []byte) v1.Descriptor {
	return v1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

func chartTgz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for n, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: "demo/" + n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

func TestArtifactChart(t *testing.T) {
	p := startPortal(t)
	id := p.createProject(t, "charts", false)
	archive := chartTgz(t, map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: demo\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 17.0.0\n  repository: oci://example.com/charts\n",
		"values.yaml": "replicas: 2\nimage: <b>nginx</b>\n", "README.md": "# Demo <script>alert(1)</script>\n"})
	cfg := []byte(`{"name":"demo","version":"1.0.0","apiVersion":"v2"}`)
	desc := p.pushManifest(t, "charts/demo", "1.0.0", v1.Manifest{Config: blobOf("application/vnd.cncf.helm.config.v1+json", cfg),
		Layers: []v1.Descriptor{blobOf("application/vnd.cncf.helm.chart.content.v1.tar+gzip", archive)}}, cfg, archive)
	p.login(t, "admin", adminPassword)

	overview := p.page(t, artifactURL(id, "charts/demo", "1.0.0"))
	assert.Contains(t, text(overview), "CHART")
	assert.Contains(t, text(overview), "helm pull oci://"+p.Host+"/charts/demo --version 1.0.0")
	assert.Contains(t, overview, "view=chart")
	assert.NotContains(t, overview, "view=vulnerabilities", "a chart is not scanned")
	assert.NotContains(t, overview, "view=history")

	page := p.page(t, artifactURL(id, "charts/demo", desc.Digest.String(), "view", "chart"))
	assert.Contains(t, page, "replicas: 2\nimage: &lt;b&gt;nginx&lt;/b&gt;", "values are escaped text")
	assert.Contains(t, page, "# Demo &lt;script&gt;", "the README is escaped, not rendered")
	assert.Regexp(t, `redis 17\.0\.0 oci://example\.com/charts`, text(page))
}

func TestArtifactAccessoriesSBOMAndIndex(t *testing.T) {
	p := startPortal(t)
	id := p.createProject(t, "shop", false)
	d := p.pushImage(t, "shop/app", "v1", 128)
	ref, err := name.ParseReference(p.Host+"/shop/app:v1", name.Insecure)
	require.NoError(t, err)
	head, err := remote.Head(ref, p.auth())
	require.NoError(t, err)
	subject := &v1.Descriptor{MediaType: string(head.MediaType), Digest: digest.Digest(d), Size: head.Size}

	// An SPDX SBOM as a referrer of the image, and a signature of the SBOM.
	emptyCfg := []byte("{}")
	spdx := []byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"openssl","versionInfo":"3.0.1","licenseConcluded":"Apache-2.0",` +
		`"externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:deb/debian/openssl@3.0.1"}]}]}`)
	sbom := p.pushManifest(t, "shop/app", "", v1.Manifest{ArtifactType: "application/spdx+json",
		Config: blobOf("application/vnd.oci.empty.v1+json", emptyCfg), Subject: subject,
		Layers: []v1.Descriptor{blobOf("application/spdx+json", spdx)}}, emptyCfg, spdx)
	sig := []byte("jws")
	signature := p.pushManifest(t, "shop/app", "", v1.Manifest{ArtifactType: "application/vnd.cncf.notary.signature",
		Config: blobOf("application/vnd.oci.empty.v1+json", emptyCfg), Subject: &sbom,
		Layers: []v1.Descriptor{blobOf("application/jose+json", sig)}}, emptyCfg, sig)
	p.login(t, "admin", adminPassword)

	page := p.page(t, artifactURL(id, "shop/app", d, "view", "accessories"))
	tree := regexp.MustCompile(`(?s)<ul class="artd-tree">.*`).FindString(page)
	require.NotEmpty(t, tree, page)
	assert.Regexp(t, `(?s)`+short(sbom.Digest.String())+`</code></a> <span class="badge">SBOM</span>.*<ul>.*`+
		short(signature.Digest.String())+`</code></a> <span class="badge">Signature \(notation\)</span>`, tree)
	// The accessory's own page names the artifact it belongs to.
	assert.Contains(t, text(p.page(t, artifactURL(id, "shop/app", sbom.Digest.String()))), d)

	// The SBOM's packages, and its download.
	body := text(p.page(t, artifactURL(id, "shop/app", d, "view", "sbom")))
	assert.Regexp(t, `openssl 3\.0\.1 Apache-2\.0 pkg:deb/debian/openssl@3\.0\.1`, body)
	assert.Contains(t, body, "SPDX-2.3 · 1 packages")
	resp, err := p.client.Get(p.URL + fmt.Sprintf("/projects/%d/artifact/sbom?repo=shop/app&digest=%s&format=spdx", id, d))
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", got)
	assert.Regexp(t, `^attachment; filename\*=UTF-8''app-sha256-[0-9a-f]{12}\.spdx\.json$`, resp.Header.Get("Content-Disposition"))
	assert.JSONEq(t, string(spdx), string(got))
	// An artifact without one says so; its download is a 404.
	page = p.page(t, artifactURL(id, "shop/app", sbom.Digest.String(), "view", "accessories"))
	assert.Contains(t, text(page), short(signature.Digest.String())+" Signature (notation)")
	assert.NotContains(t, page, "view=sbom", "an SBOM is not an image: it has no SBOM section")
	assert.Contains(t, text(p.page(t, artifactURL(id, "shop/app", signature.Digest.String(), "view", "accessories"))), "No accessories.")
	other := p.pushImage(t, "shop/app", "v2", 64)
	body = text(p.page(t, artifactURL(id, "shop/app", other, "view", "sbom")))
	assert.Contains(t, body, "No SBOM.")
	assert.NotContains(t, body, "not found", "no SBOM is not an error")
	status, _ := p.get(t, fmt.Sprintf("/projects/%d/artifact/sbom?repo=shop/app&digest=%s", id, sbom.Digest))
	assert.Equal(t, http.StatusNotFound, status)

	// An index lists its platforms, each linking to its own page.
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img,
		Descriptor: ggcr.Descriptor{Platform: &ggcr.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	iref, err := name.ParseReference(p.Host+"/shop/multi:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(iref, idx, p.auth(), remote.WithContext(t.Context())))
	child, err := img.Digest()
	require.NoError(t, err)
	page = p.page(t, artifactURL(id, "shop/multi", "v1"))
	assert.Contains(t, text(page), "linux/arm64/v8 "+child.String())
	assert.Contains(t, page, fmt.Sprintf(`href="/projects/%d/artifact?repo=shop%%2Fmulti&amp;digest=sha256%%3A%s"`, id, child.Hex))
}
