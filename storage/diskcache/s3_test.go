package diskcache_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/s3test"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/s3"
	"github.com/berthlabs/berth/storage/storagetest"
)

// The cache in front of a real S3 store (versitygw): pushes go to the
// bucket, the first pull fills the cache, the next ones are local files.
func TestOverS3(t *testing.T) {
	bucket := openBucket(t, s3test.Start(t))
	r, dir := &remote{Driver: bucket}, t.TempDir()
	d := open(t, r, dir, 64<<20)

	layer := strings.Repeat("layer bytes ", 1<<20) // 12 MiB: a multipart upload
	dgst := put(t, d, layer)
	size, err := d.Stat(t.Context(), dgst)
	require.NoError(t, err)
	assert.Equal(t, int64(len(layer)), size)

	for range 3 {
		content, isFile := read(t, d, dgst)
		assert.Equal(t, layer, content)
		assert.True(t, isFile)
	}
	assert.Equal(t, int64(1), r.opens.Load(), "one GET from the bucket")
	assert.Equal(t, []digest.Digest{dgst}, cached(t, dir))
	st := d.Stats()
	assert.Equal(t, int64(2), st.Hits)
	assert.Equal(t, int64(len(layer)), st.Bytes)

	large := put(t, d, strings.Repeat("x", 16<<20+1)) // over the 16 MiB object limit
	content, isFile := read(t, d, large)
	assert.Len(t, content, 16<<20+1)
	assert.False(t, isFile, "streamed from the bucket")

	require.NoError(t, d.Delete(t.Context(), dgst))
	assert.Empty(t, cached(t, dir))
	_, err = d.Open(t.Context(), dgst)
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
	_, err = bucket.Stat(t.Context(), dgst)
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
}

// The conformance suite, with the bucket as remote.
func TestConformanceOverS3(t *testing.T) {
	srv := s3test.Start(t)
	storagetest.Run(t, func(t *testing.T) storage.Driver { return open(t, openBucket(t, srv), t.TempDir(), 256<<20) })
}

// openBucket returns a driver over srv's bucket, under a prefix of its own.
func openBucket(t *testing.T, srv *s3test.Server) *s3.Driver {
	t.Helper()
	d, err := s3.New(t.Context(), srv.Bucket,
		s3.WithEndpoint(srv.URL),
		s3.WithRegion(srv.Region),
		s3.WithCredentials(srv.AccessKey, srv.SecretKey),
		s3.WithPathStyle(),
		s3.WithPrefix("t/"+rand.Text()),
	)
	require.NoError(t, err)
	return d
}
