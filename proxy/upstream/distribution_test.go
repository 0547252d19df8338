package upstream_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/internal/distributiontest"
	"github.com/berthlabs/berth/proxy/upstream"
)

// TestDistributionImage: Head, Manifest and Blob by tag and by digest
// return exactly what was pushed to a real Distribution, and Head costs a
// HEAD request, not a GET.
func TestDistributionImage(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{AccessLog: true})
	img, err := random.Image(3000, 3)
	require.NoError(t, err)
	pushImage(t, authn.Anonymous, reg.Host+"/team/app:v1", img)
	want, mt, raw := descriptorOf(t, img)

	ctx := testContext(t)
	c := newClient(t, upstream.Endpoint{URL: reg.URL}, upstream.WithUserAgent("upstream-test"))
	for _, r := range []string{"v1", want.String()} {
		d, err := c.Head(ctx, "team/app", r)
		require.NoError(t, err, r)
		require.Equal(t, upstream.Descriptor{Digest: want, MediaType: mt, Size: int64(len(raw))}, d, r)
		m, err := c.Manifest(ctx, "team/app", r)
		require.NoError(t, err, r)
		require.Equal(t, d, m.Descriptor, r)
		require.Equal(t, raw, m.Body, "the manifest's bytes, unchanged (%s)", r)
	}
	require.Eventually(t, func() bool {
		return reg.Count(func(q distributiontest.Request) bool {
			return byClient(q) && q.Method == http.MethodHead && q.Path == "/v2/team/app/manifests/v1"
		}) == 1
	}, 5*time.Second, 20*time.Millisecond, "Head by tag is one HEAD request: %+v", reg.Requests())
	require.Equal(t, 1, reg.Count(func(q distributiontest.Request) bool {
		return byClient(q) && q.Method == http.MethodGet && q.Path == "/v2/team/app/manifests/v1"
	}), "only Manifest GETs the tag")

	layers, err := img.Layers()
	require.NoError(t, err)
	cfg, err := img.ConfigName()
	require.NoError(t, err)
	cfgBytes, err := img.RawConfigFile()
	require.NoError(t, err)
	got, size, err := readBlob(t, c, "team/app", digest.Digest(cfg.String()))
	require.NoError(t, err)
	require.Equal(t, cfgBytes, got)
	require.Equal(t, int64(len(cfgBytes)), size)
	for _, l := range layers {
		ld, err := l.Digest()
		require.NoError(t, err)
		rc, err := l.Compressed()
		require.NoError(t, err)
		wantBytes, err := io.ReadAll(rc)
		require.NoError(t, err)
		got, size, err := readBlob(t, c, "team/app", digest.Digest(ld.String()))
		require.NoError(t, err, "a verified blob ends with io.EOF")
		require.Equal(t, wantBytes, got)
		require.Equal(t, int64(len(wantBytes)), size)
	}
}

// byClient picks the requests of the clients made WithUserAgent("upstream-test").
func byClient(q distributiontest.Request) bool {
	return strings.HasPrefix(q.UserAgent, "upstream-test ")
}

// TestDistributionIndex: a multi-platform index and each of its images.
func TestDistributionIndex(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{})
	idx, err := random.Index(1000, 1, 2)
	require.NoError(t, err)
	pushIndex(t, authn.Anonymous, reg.Host+"/team/multi:v1", idx)
	want, mt, raw := descriptorOf(t, idx)

	ctx := testContext(t)
	c := newClient(t, upstream.Endpoint{URL: reg.URL})
	m, err := c.Manifest(ctx, "team/multi", "v1")
	require.NoError(t, err)
	require.Equal(t, upstream.Descriptor{Digest: want, MediaType: mt, Size: int64(len(raw))}, m.Descriptor)
	require.Equal(t, raw, m.Body)

	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, 2)
	for _, child := range im.Manifests {
		img, err := idx.Image(child.Digest)
		require.NoError(t, err)
		_, _, childRaw := descriptorOf(t, img)
		cm, err := c.Manifest(ctx, "team/multi", child.Digest.String())
		require.NoError(t, err)
		require.Equal(t, childRaw, cm.Body)
		require.Equal(t, string(child.MediaType), cm.MediaType)
	}
}

// TestDistributionNotFound: what the upstream does not have is
// ErrNotFound — never ErrUnavailable, which would keep serving a cached copy.
func TestDistributionNotFound(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{})
	img, err := random.Image(100, 1)
	require.NoError(t, err)
	pushImage(t, authn.Anonymous, reg.Host+"/team/app:v1", img)
	ctx := testContext(t)
	c := newClient(t, upstream.Endpoint{URL: reg.URL})
	missing := digest.FromString("nothing")

	_, err = c.Manifest(ctx, "team/app", "v2")
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), "team/app:v2")
	require.Contains(t, err.Error(), reg.Host)
	_, err = c.Head(ctx, "team/app", "v2")
	require.ErrorIs(t, err, core.ErrNotFound)
	_, err = c.Manifest(ctx, "team/nope", "v1")
	require.ErrorIs(t, err, core.ErrNotFound)
	_, err = c.Manifest(ctx, "team/app", missing.String())
	require.ErrorIs(t, err, core.ErrNotFound)
	_, _, err = c.Blob(ctx, "team/app", missing)
	require.ErrorIs(t, err, core.ErrNotFound)
	require.NotErrorIs(t, err, core.ErrUnavailable)
}

// TestDistributionBasicAuth: the right credentials pull; wrong or none
// are ErrDenied.
func TestDistributionBasicAuth(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{Username: "proxy", Password: "pw"})
	img, err := random.Image(100, 1)
	require.NoError(t, err)
	pushImage(t, &authn.Basic{Username: "proxy", Password: "pw"}, reg.Host+"/team/app:v1", img)
	want, _, _ := descriptorOf(t, img)
	ctx := testContext(t)

	m, err := newClient(t, upstream.Endpoint{URL: reg.URL, Username: "proxy", Password: "pw"}).Manifest(ctx, "team/app", "v1")
	require.NoError(t, err)
	require.Equal(t, want, m.Digest)
	for _, ep := range []upstream.Endpoint{
		{URL: reg.URL, Username: "proxy", Password: "wrong"},
		{URL: reg.URL},
	} {
		_, err := newClient(t, ep).Manifest(ctx, "team/app", "v1")
		require.ErrorIs(t, err, core.ErrDenied, "password %q", ep.Password)
	}
}

// TestDistributionOutage: a stopped upstream is ErrUnavailable within the
// timeout, and the same client works again once it is back.
func TestDistributionOutage(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{})
	img, err := random.Image(500, 1)
	require.NoError(t, err)
	pushImage(t, authn.Anonymous, reg.Host+"/team/app:v1", img)
	want, _, _ := descriptorOf(t, img)
	ctx := testContext(t)
	c := newClient(t, upstream.Endpoint{URL: reg.URL}, upstream.WithTimeout(time.Second))
	_, err = c.Manifest(ctx, "team/app", "v1")
	require.NoError(t, err)

	reg.Stop()
	for _, call := range []func() error{
		func() error { _, err := c.Manifest(ctx, "team/app", "v1"); return err },
		func() error { _, err := c.Head(ctx, "team/app", "v1"); return err },
		func() error { _, _, err := c.Blob(ctx, "team/app", want); return err },
		func() error { _, err := c.Manifest(ctx, "team/other", "v1"); return err }, // a new handshake
	} {
		start := time.Now()
		err := call()
		require.ErrorIs(t, err, core.ErrUnavailable)
		require.Less(t, time.Since(start), 3*time.Second, "an outage is reported within the timeout")
		require.Contains(t, err.Error(), reg.Host)
	}

	reg.Restart()
	m, err := c.Manifest(ctx, "team/app", "v1")
	require.NoError(t, err)
	require.Equal(t, want, m.Digest)
}

// TestDistributionReferrersTagSchema: Distribution has no referrers API,
// so the client reads the tag schema, and filters by artifact type.
func TestDistributionReferrersTagSchema(t *testing.T) {
	reg := distributiontest.Start(t, distributiontest.Options{AccessLog: true})
	img, err := random.Image(100, 1)
	require.NoError(t, err)
	pushImage(t, authn.Anonymous, reg.Host+"/team/app:v1", img)
	subject, mt, raw := descriptorOf(t, img)
	sd := v1.Descriptor{MediaType: "application/vnd.docker.distribution.manifest.v2+json", Size: int64(len(raw))}
	sd.Digest, err = v1.NewHash(subject.String())
	require.NoError(t, err)
	require.Equal(t, string(sd.MediaType), mt)
	sig := artifact(t, reg.Host+"/team/app", sd, "application/vnd.dev.cosign.artifact.sig.v1+json", `{"sig":1}`)
	sbom := artifact(t, reg.Host+"/team/app", sd, "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)

	ctx := testContext(t)
	c := newClient(t, upstream.Endpoint{URL: reg.URL}, upstream.WithUserAgent("upstream-test"))
	referrers := func(artifactType string) []digest.Digest {
		m, err := c.Referrers(ctx, "team/app", subject, artifactType)
		require.NoError(t, err)
		require.Equal(t, ocispec.MediaTypeImageIndex, m.MediaType)
		require.Equal(t, digest.FromBytes(m.Body), m.Digest)
		var idx ocispec.Index
		require.NoError(t, json.Unmarshal(m.Body, &idx))
		var out []digest.Digest
		for _, d := range idx.Manifests {
			out = append(out, d.Digest)
		}
		return out
	}
	require.ElementsMatch(t, []digest.Digest{sig, sbom}, referrers(""))
	require.Equal(t, []digest.Digest{sbom}, referrers("application/spdx+json"))
	require.Empty(t, referrers("application/vnd.cncf.notary.signature"))
	require.Eventually(t, func() bool {
		return reg.Count(func(q distributiontest.Request) bool {
			return byClient(q) && q.Method == http.MethodGet && q.Path == "/v2/team/app/manifests/sha256-"+subject.Encoded()
		}) == 3
	}, 5*time.Second, 20*time.Millisecond, "each call read the referrers tag: %+v", reg.Requests())
	require.Equal(t, 3, reg.Count(func(q distributiontest.Request) bool {
		return byClient(q) && q.Path == "/v2/team/app/referrers/"+subject.String() && q.Status == http.StatusNotFound
	}), "after asking the referrers API")

	other := digest.FromString("no referrers")
	m, err := c.Referrers(ctx, "team/app", other, "")
	require.NoError(t, err, "no referrers tag is no referrers")
	require.JSONEq(t, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, string(m.Body))
}
