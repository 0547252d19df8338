package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestAccessories(t *testing.T) {
	e := newEnv(t)
	e.user("guest", "other")
	e.project("team", false, "guest=guest")
	d := e.push("team/app", "v1")
	var subj api.Artifact
	e.do(as("guest"), http.MethodGet, "/projects/team/repositories/app/artifacts/v1", nil).ok(t, http.StatusOK, &subj)

	empty := []byte("{}")
	emptyDesc := describe("application/vnd.oci.empty.v1+json", empty)
	subject := &v1.Descriptor{MediaType: "application/vnd.docker.distribution.manifest.v2+json", Digest: digest.Digest(d), Size: 1}
	sbom := []byte(`{"spdxVersion":"SPDX-2.3"}`)
	sbomM := manifestOf(t, "application/spdx+json", emptyDesc, subject, describe("application/spdx+json", sbom))
	sbomD := e.pushRaw("team/app", digest.FromBytes(sbomM).String(), v1.MediaTypeImageManifest, sbomM, empty, sbom)
	notation := []byte("jws")
	notM := manifestOf(t, "application/vnd.cncf.notary.signature", emptyDesc, subject, describe("application/jose+json", notation))
	notD := e.pushRaw("team/app", digest.FromBytes(notM).String(), v1.MediaTypeImageManifest, notM, notation)
	// cosign's tag scheme: no subject, a tag naming the signed digest.
	sig := []byte("payload")
	sigM := manifestOf(t, "", describe("application/vnd.oci.image.config.v1+json", empty), nil,
		describe("application/vnd.dev.cosign.simplesigning.v1+json", sig))
	sigD := e.pushRaw("team/app", strings.Replace(d, ":", "-", 1)+".sig", v1.MediaTypeImageManifest, sigM, sig)

	var accs []api.Accessory
	r := e.do(as("guest"), http.MethodGet, "/projects/team/repositories/app/artifacts/v1/accessories", nil)
	r.ok(t, http.StatusOK, &accs)
	assert.Equal(t, "3", r.Header.Get("X-Total-Count"))
	byType := map[string]api.Accessory{}
	for _, a := range accs {
		byType[a.Type] = a
		assert.Equal(t, subj.ID, a.SubjectArtifactID)
		assert.Equal(t, d, a.SubjectArtifactDigest)
		assert.Equal(t, "team/app", a.SubjectArtifactRepo)
		assert.Positive(t, a.ID)
		assert.Equal(t, a.ID, a.ArtifactID)
		assert.NotEmpty(t, a.Icon)
		assert.False(t, a.CreationTime.IsZero())
	}
	assert.Equal(t, sbomD.String(), byType["harbor.sbom"].Digest)
	assert.Equal(t, notD.String(), byType["signature.notation"].Digest)
	assert.Equal(t, sigD.String(), byType["signature.cosign"].Digest)
	assert.Equal(t, int64(len(sbomM)+len(empty)+len(sbom)), byType["harbor.sbom"].Size, "the manifest and its blobs")

	r = e.do(as("guest"), http.MethodGet, "/projects/team/repositories/app/artifacts/v1/accessories?q=type%3Dharbor.sbom", nil)
	assert.Equal(t, []string{sbomD.String()}, names(t, r, "digest"))

	// Harbor's list conventions: sort over every page, unions, refused forms.
	path := "/projects/team/repositories/app/artifacts/v1/accessories"
	assert.Equal(t, []string{"signature.notation", "signature.cosign", "harbor.sbom"},
		walk(t, e, as("guest"), path+"?sort=-type", "type", 1))
	assert.Equal(t, []string{"harbor.sbom", "signature.cosign", "signature.notation"}, walk(t, e, as("guest"), path+"?sort=type", "type", 2))
	assert.Equal(t, []string{"harbor.sbom", "signature.notation"},
		walk(t, e, as("guest"), path+"?sort=type&"+q("type={harbor.sbom signature.notation}"), "type", 1))
	assert.Equal(t, []string{"signature.cosign", "signature.notation"}, walk(t, e, as("guest"), path+"?sort=type&"+q("type=~signature"), "type", 1))
	assert.Len(t, fields(t, e.do(as("guest"), http.MethodGet, path+"?page_size=0", nil), "type"), 3)
	e.do(as("guest"), http.MethodGet, path+"?"+q("type=[a~b]"), nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("guest"), http.MethodGet, path+"?sort=color", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	e.do(as("other"), http.MethodGet, "/projects/team/repositories/app/artifacts/v1/accessories", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("guest"), http.MethodGet, "/projects/team/repositories/app/artifacts/v1/accessories?q=size%3D1", nil).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("guest"), http.MethodGet, "/projects/team/repositories/app/artifacts/nope/accessories", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	// The icon each names is served.
	var icon api.Icon
	e.do(anonymous, http.MethodGet, "/icons/"+byType["signature.cosign"].Icon, nil).ok(t, http.StatusOK, &icon)
	assert.Equal(t, "image/svg+xml", icon.ContentType)
	svg, err := base64.StdEncoding.DecodeString(icon.Content)
	require.NoError(t, err)
	assert.Equal(t, byType["signature.cosign"].Icon, digest.FromBytes(svg).String(), "an icon is named by its digest")
	e.do(anonymous, http.MethodGet, "/icons/"+subj.Icon, nil).ok(t, http.StatusOK, nil)
	e.do(anonymous, http.MethodGet, "/icons/sha256:"+strings.Repeat("0", 64), nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(anonymous, http.MethodGet, "/icons/..%2f..%2fetc", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}

func TestAdditions(t *testing.T) {
	e := newEnv(t)
	e.user("guest", "other")
	e.project("team", false, "guest=guest")
	e.push("team/app", "v1")
	base := "/projects/team/repositories/"

	// An image's build history is its config's history.
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},` +
		`"history":[{"created":"2026-01-01T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file","empty_layer":true}]}`)
	img := manifestOf(t, "", describe(v1.MediaTypeImageConfig, cfg), nil)
	e.pushRaw("team/img", "v1", v1.MediaTypeImageManifest, img, cfg)
	r := e.do(as("guest"), http.MethodGet, base+"img/artifacts/v1/additions/build_history", nil)
	var hist []map[string]any
	r.ok(t, http.StatusOK, &hist)
	require.Len(t, hist, 1)
	assert.Equal(t, "/bin/sh -c #(nop) ADD file", hist[0]["created_by"])

	// An index has no history of its own.
	idx, err := json.Marshal(v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex,
		Manifests: []v1.Descriptor{describe(v1.MediaTypeImageManifest, img)}})
	require.NoError(t, err)
	e.pushRaw("team/img", "multi", v1.MediaTypeImageIndex, idx)
	var index api.Artifact
	e.do(as("guest"), http.MethodGet, base+"img/artifacts/multi", nil).ok(t, http.StatusOK, &index)
	assert.NotContains(t, index.AdditionLinks, "build_history")
	assert.Contains(t, index.AdditionLinks, "vulnerabilities")
	e.do(as("guest"), http.MethodGet, base+"img/artifacts/multi/additions/build_history", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	// A chart's values, README and dependencies come from its archive.
	chartYAML := "apiVersion: v2\nname: demo\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 17.0.0\n  repository: oci://example.com/charts\n"
	archive := chartArchive(t, "demo", map[string]string{"Chart.yaml": chartYAML, "values.yaml": "replicas: 2\n", "README.md": "# Demo\n"})
	chartCfg := []byte(`{"name":"demo","version":"1.0.0","apiVersion":"v2"}`)
	chart := manifestOf(t, "", describe("application/vnd.cncf.helm.config.v1+json", chartCfg), nil,
		describe("application/vnd.cncf.helm.chart.content.v1.tar+gzip", archive))
	e.pushRaw("team/demo", "1.0.0", v1.MediaTypeImageManifest, chart, chartCfg, archive)

	var art api.Artifact
	e.do(as("guest"), http.MethodGet, base+"demo/artifacts/1.0.0", nil).ok(t, http.StatusOK, &art)
	assert.Equal(t, "CHART", art.Type)
	require.Contains(t, art.AdditionLinks, "values.yaml")
	r = e.do(as("guest"), http.MethodGet, strings.TrimPrefix(art.AdditionLinks["values.yaml"].Href, api.BasePath), nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "replicas: 2\n", string(r.Body))
	r = e.do(as("guest"), http.MethodGet, base+"demo/artifacts/1.0.0/additions/readme.md", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "# Demo\n", string(r.Body))
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"), "Harbor's SDK reads text/plain")
	var deps []map[string]string
	e.do(as("guest"), http.MethodGet, base+"demo/artifacts/1.0.0/additions/dependencies", nil).ok(t, http.StatusOK, &deps)
	assert.Equal(t, []map[string]string{{"name": "redis", "version": "17.0.0", "repository": "oci://example.com/charts"}}, deps)

	// Wrong kind, unknown addition, no scanner, no access.
	e.do(as("guest"), http.MethodGet, base+"demo/artifacts/1.0.0/additions/build_history", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("guest"), http.MethodGet, base+"img/artifacts/v1/additions/values.yaml", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("guest"), http.MethodGet, base+"img/artifacts/v1/additions/secrets", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("guest"), http.MethodGet, base+"img/artifacts/v1/additions/vulnerabilities", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("other"), http.MethodGet, base+"img/artifacts/v1/additions/build_history", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, base+"img/artifacts/v1/additions/build_history", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")

	// A broken chart archive is refused with a reason, not a 500.
	bad := []byte("not a tarball")
	broken := manifestOf(t, "", describe("application/vnd.cncf.helm.config.v1+json", chartCfg), nil,
		describe("application/vnd.cncf.helm.chart.content.v1.tar+gzip", bad))
	e.pushRaw("team/broken", "1.0.0", v1.MediaTypeImageManifest, broken, chartCfg, bad)
	e.do(as("guest"), http.MethodGet, base+"broken/artifacts/1.0.0/additions/values.yaml", nil).fails(t, http.StatusPreconditionFailed, "PRECONDITION")
}
