package upstream_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/proxy/upstream"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, ep upstream.Endpoint, opts ...upstream.Option) *upstream.Client {
	t.Helper()
	c, err := upstream.New(ep, opts...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure)
	require.NoError(t, err)
	return r
}

func pushImage(t *testing.T, auth authn.Authenticator, at string, img v1.Image) {
	t.Helper()
	require.NoError(t, remote.Write(ref(t, at), img, remote.WithAuth(auth)))
}

func pushIndex(t *testing.T, auth authn.Authenticator, at string, idx v1.ImageIndex) {
	t.Helper()
	require.NoError(t, remote.WriteIndex(ref(t, at), idx, remote.WithAuth(auth)))
}

// artifact pushes a small OCI artifact of artifactType whose subject is
// the manifest subject in repo (host/repo); it returns its digest.
func artifact(t *testing.T, repo string, subject v1.Descriptor, artifactType, content string) digest.Digest {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	img, err := mutate.AppendLayers(img, static.NewLayer([]byte(content), "application/vnd.berth.test+json"))
	require.NoError(t, err)
	img = mutate.Subject(img, v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}).(v1.Image)
	d, err := img.Digest()
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref(t, repo+"@"+d.String()), img, remote.WithReferrersTagFallback(true)))
	return digest.Digest(d.String())
}

func descriptorOf(t *testing.T, m interface {
	Digest() (v1.Hash, error)
	MediaType() (types.MediaType, error)
	RawManifest() ([]byte, error)
}) (digest.Digest, string, []byte) {
	t.Helper()
	d, err := m.Digest()
	require.NoError(t, err)
	mt, err := m.MediaType()
	require.NoError(t, err)
	raw, err := m.RawManifest()
	require.NoError(t, err)
	return digest.Digest(d.String()), string(mt), raw
}

// readBlob reads a blob to its end: the bytes and the reader's last error
// (nil for a verified io.EOF).
func readBlob(t *testing.T, c *upstream.Client, repo string, d digest.Digest) ([]byte, int64, error) {
	t.Helper()
	rc, size, err := c.Blob(testContext(t), repo, d)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return b, size, err
}
