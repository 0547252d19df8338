package s3_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/s3test"
	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/s3"
)

const mib = 1 << 20

// The suite's blobs mostly fit in one part; these cases cross part
// boundaries in every way a Write can, with S3's smallest parts.

// Chunks that grow the tail, cut a part from tail and chunk together, end
// on a part boundary, and fail after a part went up; halfway a second
// driver with a smaller part size resumes the session, whose tail is then
// longer than its parts. The blob comes back whole and the session leaves
// nothing behind.
func TestPartsAndTail(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "p", s3.WithPartSize(8*mib))
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)

	var all []byte
	for i, size := range []int{3 * mib, 3 * mib, 9*mib - 1, 1, 0, 2*mib + 5} {
		if i == 3 { // a restart: the rest goes through another driver
			d = open(t, srv, "p", s3.WithPartSize(5*mib))
			up, err = d.ResumeUpload(t.Context(), up.ID())
			require.NoError(t, err)
			require.Equal(t, int64(len(all)), up.Size())
		}
		chunk := pattern(i, size)
		n, err := up.Write(t.Context(), bytes.NewReader(chunk))
		require.NoError(t, err)
		require.Equal(t, int64(size), n)
		all = append(all, chunk...)

		// A client dropping after sending more than a part: the parts it
		// filled are not acknowledged, and the next Write replaces them.
		n, err = up.Write(t.Context(), io.MultiReader(bytes.NewReader(pattern(99, 7*mib)), iotest.ErrReader(errors.New("reset"))))
		require.Error(t, err)
		require.Zero(t, n)
		require.Equal(t, int64(len(all)), up.Size())
	}
	dgst := digest.FromBytes(all)
	require.NoError(t, up.Commit(t.Context(), dgst))
	assert.Equal(t, all, read(t, d, dgst))
	assertNothingLeft(t, srv, "p/")
}

// A sha512 commit of a multipart session rereads the completed object: a
// wrong digest is caught there and nothing is published or left.
func TestSHA512Parts(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "", s3.WithPartSize(5*mib))
	content := pattern(1, 11*mib)

	wrong := digest.SHA512.FromString("not the content")
	_, err := storage.Put(t.Context(), d, wrong, bytes.NewReader(content))
	require.ErrorIs(t, err, storage.ErrDigestMismatch)
	_, err = d.Stat(t.Context(), wrong)
	require.ErrorIs(t, err, storage.ErrBlobUnknown)

	putAndRead(t, srv, d, digest.SHA512.FromBytes(content), content)
}

// Blobs over CopyObject's 5 GiB limit are copied with UploadPartCopy; the
// limit is lowered here so a 12 MiB blob takes that path.
func TestCopyInParts(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "", s3.WithPartSize(5*mib), s3.WithCopyPartSize(5*mib))
	content := pattern(2, 12*mib+3)
	putAndRead(t, srv, d, digest.FromBytes(content), content)
}

// A Commit cut off after it completed the multipart upload is retried by
// the client: the retry finds the completed object and publishes it.
func TestCommitRetriedAfterCompletion(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "", s3.WithPartSize(5*mib))
	content := pattern(3, 7*mib)
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	_, err = up.Write(t.Context(), bytes.NewReader(content))
	require.NoError(t, err)
	require.NoError(t, s3.CompleteMultipart(t.Context(), up))

	up, err = d.ResumeUpload(t.Context(), up.ID())
	require.NoError(t, err)
	require.NoError(t, up.Commit(t.Context(), digest.FromBytes(content)))
	assert.Equal(t, content, read(t, d, digest.FromBytes(content)))
	assertNothingLeft(t, srv, "")
}

// PurgeUploads aborts multipart uploads no session names: one of a Write
// that died before saving its state, one of a copy in parts that died.
func TestPurgeAbortsOrphans(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "store", s3.WithPartSize(5*mib))
	client := srv.Client()
	for _, key := range []string{"store/uploads/" + storage.NewUploadID() + "/data", "store/blobs/sha256/ab/ab00"} {
		_, err := client.CreateMultipartUpload(t.Context(), &s3sdk.CreateMultipartUploadInput{Bucket: &srv.Bucket, Key: aws.String(key)})
		require.NoError(t, err)
	}
	idle, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	_, err = idle.Write(t.Context(), bytes.NewReader(pattern(4, 6*mib)))
	require.NoError(t, err)
	elsewhere, err := client.CreateMultipartUpload(t.Context(), &s3sdk.CreateMultipartUploadInput{Bucket: &srv.Bucket, Key: aws.String("other/x")})
	require.NoError(t, err)

	// Beyond the store's timestamps, which may be whole seconds.
	n, err := d.PurgeUploads(t.Context(), time.Now().Add(2*time.Second))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assertNothingLeft(t, srv, "store/")
	mus, err := client.ListMultipartUploads(t.Context(), &s3sdk.ListMultipartUploadsInput{Bucket: &srv.Bucket})
	require.NoError(t, err)
	require.Len(t, mus.Uploads, 1, "outside the prefix nothing is touched")
	assert.Equal(t, aws.ToString(elsewhere.UploadId), aws.ToString(mus.Uploads[0].UploadId))
}

// The layout is the documented one, under the prefix; Walk skips keys
// that are not blobs.
func TestLayout(t *testing.T) {
	srv := s3test.Start(t)
	d := open(t, srv, "reg/")
	dgst := digest.FromString("laid out")
	_, err := storage.Put(t.Context(), d, dgst, bytes.NewReader([]byte("laid out")))
	require.NoError(t, err)

	client := srv.Client()
	key := "reg/blobs/sha256/" + dgst.Encoded()[:2] + "/" + dgst.Encoded()
	_, err = client.HeadObject(t.Context(), &s3sdk.HeadObjectInput{Bucket: &srv.Bucket, Key: &key})
	require.NoError(t, err)
	for _, junk := range []string{"reg/blobs/sha256/zz/" + dgst.Encoded(), "reg/blobs/sha256/" + dgst.Encoded(), "reg/blobs/md5/ab/abcd", "reg/blobs/x"} {
		_, err = client.PutObject(t.Context(), &s3sdk.PutObjectInput{Bucket: &srv.Bucket, Key: aws.String(junk), Body: bytes.NewReader(nil)})
		require.NoError(t, err)
	}
	got := map[digest.Digest]int64{}
	require.NoError(t, d.Walk(t.Context(), func(dg digest.Digest, size int64) error { got[dg] = size; return nil }))
	assert.Equal(t, map[digest.Digest]int64{dgst: 8}, got)
}

// pattern returns size bytes that differ with seed.
func pattern(seed, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(seed*31 + i*7 + i>>12)
	}
	return b
}

// putAndRead stores content as dgst in a driver without prefix, reads it
// back, and checks that the upload left nothing behind.
func putAndRead(t *testing.T, srv *s3test.Server, d *s3.Driver, dgst digest.Digest, content []byte) {
	t.Helper()
	_, err := storage.Put(t.Context(), d, dgst, bytes.NewReader(content))
	require.NoError(t, err)
	assert.Equal(t, content, read(t, d, dgst))
	assertNothingLeft(t, srv, "")
}

func read(t *testing.T, d *s3.Driver, dgst digest.Digest) []byte {
	t.Helper()
	rc, err := d.Open(t.Context(), dgst)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// assertNothingLeft checks that no session object and no multipart upload
// remains under prefix.
func assertNothingLeft(t *testing.T, srv *s3test.Server, prefix string) {
	t.Helper()
	client := srv.Client()
	objs, err := client.ListObjectsV2(t.Context(), &s3sdk.ListObjectsV2Input{Bucket: &srv.Bucket, Prefix: aws.String(prefix + "uploads/")})
	require.NoError(t, err)
	var keys []string
	for _, o := range objs.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	assert.Empty(t, keys, "session objects left")
	mus, err := client.ListMultipartUploads(t.Context(), &s3sdk.ListMultipartUploadsInput{Bucket: &srv.Bucket, Prefix: aws.String(prefix)})
	require.NoError(t, err)
	assert.Empty(t, mus.Uploads, "multipart uploads left")
}
