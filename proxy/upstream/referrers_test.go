package upstream_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/proxy/upstream"
)

const (
	sigType  = "application/vnd.dev.cosign.artifact.sig.v1+json"
	sbomType = "application/spdx+json"
)

func referrer(seed, artifactType string) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ociManifestType, Digest: digest.FromString(seed), Size: 100, ArtifactType: artifactType}
}

func indexOf(t *testing.T, descs ...ocispec.Descriptor) []byte {
	b, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex, "manifests": descs})
	require.NoError(t, err)
	return b
}

func digestsIn(t *testing.T, m upstream.Manifest) []digest.Digest {
	t.Helper()
	require.Equal(t, ocispec.MediaTypeImageIndex, m.MediaType)
	require.Equal(t, digest.FromBytes(m.Body), m.Digest)
	var idx ocispec.Index
	require.NoError(t, json.Unmarshal(m.Body, &idx))
	out := []digest.Digest{}
	for _, d := range idx.Manifests {
		out = append(out, d.Digest)
	}
	return out
}

// TestReferrersAPI: the pages of the referrers API are followed and
// joined, and filtered by artifact type even when the upstream ignores
// the filter.
func TestReferrersAPI(t *testing.T) {
	subject := digest.FromString("subject")
	sig1, sbom, sig2 := referrer("sig1", sigType), referrer("sbom", sbomType), referrer("sig2", sigType)
	var queries []string
	srv, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/team/app/referrers/"+subject.String() {
			http.NotFound(w, r)
			return
		}
		queries = append(queries, r.URL.RawQuery)
		w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
		if r.URL.Query().Get("last") == "" {
			w.Header().Set("Link", fmt.Sprintf(`<%s?last=%s>; rel="next"`, r.URL.Path, sbom.Digest))
			_, _ = w.Write(indexOf(t, sig1, sbom))
			return
		}
		_, _ = w.Write(indexOf(t, sig2))
	})
	c := newClient(t, upstream.Endpoint{URL: srv.URL})
	ctx := testContext(t)

	m, err := c.Referrers(ctx, "team/app", subject, "")
	require.NoError(t, err)
	require.Equal(t, []digest.Digest{sig1.Digest, sbom.Digest, sig2.Digest}, digestsIn(t, m))
	m, err = c.Referrers(ctx, "team/app", subject, sigType)
	require.NoError(t, err)
	require.Equal(t, []digest.Digest{sig1.Digest, sig2.Digest}, digestsIn(t, m))
	require.Equal(t, []string{"", "last=" + sbom.Digest.String(), "artifactType=" + url.QueryEscape(sigType), "last=" + sbom.Digest.String()}, queries,
		"the filter is asked for; the next page is read as the upstream linked it")
}

// TestHostileReferrers: a next link to another host, a page that is not
// an index, and an outage are errors, never a fallback or a partial list.
func TestHostileReferrers(t *testing.T) {
	subject := digest.FromString("subject")
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		kind    error
		says    string
	}{
		{"link elsewhere", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			w.Header().Set("Link", `<http://169.254.169.254/latest/meta-data>; rel="next"`)
			_, _ = w.Write(indexOf(t, referrer("a", sigType)))
		}, core.ErrInvalid, "leaves the upstream"},
		{"not an index", func(w http.ResponseWriter, _ *http.Request) {
			body, _ := ociManifest("x")
			w.Header().Set("Content-Type", ociManifestType)
			_, _ = w.Write(body)
		}, core.ErrInvalid, "OCI image index was expected"},
		{"bad descriptor", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			_, _ = w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:zz"}]}`))
		}, core.ErrInvalid, "descriptor"},
		{"outage", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }, core.ErrUnavailable, "502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := hostile(t, tc.handler)
			_, err := newClient(t, upstream.Endpoint{URL: srv.URL}).Referrers(testContext(t), "app", subject, "")
			require.ErrorIs(t, err, tc.kind)
			require.Contains(t, err.Error(), tc.says)
		})
	}
}
