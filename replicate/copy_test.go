package replicate_test

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/storage/memory"
)

func TestCopyIncremental(t *testing.T) {
	ctx := context.Background()
	src, dst := newBerth(t), newBerth(t)
	base := randomImage(t, 4096, 8192)
	push(t, src.host, "lib/app:v1", base)
	cp, err := replicate.NewCopier(src.endpoint("src"), dst.endpoint("dst"), replicate.WithLog(t.Logf))
	require.NoError(t, err)
	res, err := cp.Copy(ctx, "lib/app", "v1", "mirror/app", []string{"v1"}, false)
	require.NoError(t, err)
	assert.Equal(t, 3, res.BlobsCopied)
	assert.Positive(t, res.Bytes)
	sameImage(t, src.host, "lib/app:v1", dst.host, "mirror/app:v1")

	before := dst.meta.in.Load()
	res, err = cp.Copy(ctx, "lib/app", "v1", "mirror/app", []string{"v1"}, false)
	require.NoError(t, err)
	assert.True(t, res.Skipped)
	assert.Zero(t, res.Bytes)
	assert.Equal(t, before, dst.meta.in.Load(), "bytes received by the destination on the second copy")
}

// TestOverride: without override a destination tag that points elsewhere
// is kept and the artifact is not copied; with it the tag moves.
func TestOverride(t *testing.T) {
	ctx := context.Background()
	src, dst := newBerth(t), newBerth(t)
	mine := push(t, dst.host, "app:v1", randomImage(t, 1000))
	theirs := push(t, src.host, "app:v1", randomImage(t, 1000))
	cp, err := replicate.NewCopier(src.endpoint("src"), dst.endpoint("dst"))
	require.NoError(t, err)
	res, err := cp.Copy(ctx, "app", "v1", "app", []string{"v1"}, false)
	require.NoError(t, err)
	assert.Zero(t, res.Bytes)
	assert.Equal(t, mine, digestAt(t, dst.host, "app:v1"))
	assert.Empty(t, digestAt(t, dst.host, "app@"+theirs), "not copied untagged either")
	_, err = cp.Copy(ctx, "app", "v1", "app", []string{"v1"}, true)
	require.NoError(t, err)
	assert.Equal(t, theirs, digestAt(t, dst.host, "app:v1"))
}

// TestTLSEndpoints: a registry with a certificate the system does not
// trust is reached with its CA, or with verification off; not otherwise.
func TestTLSEndpoints(t *testing.T) {
	ctx := context.Background()
	reg, err := registry.New(ctx, memory.New(), nil)
	require.NoError(t, err)
	srv := httptest.NewTLSServer(reg)
	defer srv.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	assert.Error(t, replicate.Ping(ctx, &replicate.Endpoint{Name: "tls", URL: srv.URL}))
	assert.NoError(t, replicate.Ping(ctx, &replicate.Endpoint{Name: "tls", URL: srv.URL, CACert: ca}))
	assert.NoError(t, replicate.Ping(ctx, &replicate.Endpoint{Name: "tls", URL: srv.URL, Insecure: true}))

	src := newBerth(t)
	push(t, src.host, "app:v1", randomImage(t, 1000))
	cp, err := replicate.NewCopier(src.endpoint("src"), &replicate.Endpoint{Name: "tls", URL: srv.URL, CACert: ca})
	require.NoError(t, err)
	_, err = cp.Copy(ctx, "app", "v1", "app", []string{"v1"}, false)
	require.NoError(t, err)
}
