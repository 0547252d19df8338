package storagetest

import (
	"crypto/sha512"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
)

// unknown is a well-formed digest of no content any test stores.
const unknown = digest.Digest("sha256:0000000000000000000000000000000000000000000000000000000000000000")

func blobCases() []testCase {
	return []testCase{
		{"PutStatOpen", testPutStatOpen},
		{"OpenUnknown", testOpenUnknown},
		{"StatUnknown", testStatUnknown},
		{"MalformedDigest", testMalformedDigest},
		{"ZeroByteBlob", testZeroByteBlob},
		{"SHA512", testSHA512},
		{"CommitExistingBlob", testCommitExistingBlob},
		{"DeleteThenStat", testDeleteThenStat},
		{"DeleteUnknown", testDeleteUnknown},
		{"Walk", testWalk},
		{"OpenSeek", testOpenSeek},
		{"LargeBlob", testLargeBlob},
	}
}

func testPutStatOpen(t *testing.T, d storage.Driver) {
	content := []byte("hello, berth")
	dgst := put(t, d, content)

	size, err := d.Stat(t.Context(), dgst)
	require.NoError(t, err)
	assert.Equal(t, int64(len(content)), size)
	assert.Equal(t, content, readBlob(t, d, dgst))
}

func testOpenUnknown(t *testing.T, d storage.Driver) {
	_, err := d.Open(t.Context(), unknown)
	require.ErrorIs(t, err, storage.ErrBlobUnknown)
}

func testStatUnknown(t *testing.T, d storage.Driver) {
	_, err := d.Stat(t.Context(), unknown)
	require.ErrorIs(t, err, storage.ErrBlobUnknown)
}

// Digests come from clients; a driver that builds paths or keys from them
// must refuse malformed ones instead of resolving them.
func testMalformedDigest(t *testing.T, d storage.Driver) {
	put(t, d, []byte("neighbour"))
	for _, dgst := range []digest.Digest{
		"", "sha256:", "sha256:../../etc/passwd", "sha256:ab/../cd",
		"sha256:" + digest.Digest(string(make([]byte, 64))), "md5:d41d8cd98f00b204e9800998ecf8427e",
	} {
		_, err := d.Stat(t.Context(), dgst)
		assert.Error(t, err, "Stat(%q)", dgst)
		_, err = d.Open(t.Context(), dgst)
		assert.Error(t, err, "Open(%q)", dgst)
		assert.Error(t, d.Delete(t.Context(), dgst), "Delete(%q)", dgst)
	}
}

func testZeroByteBlob(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	assert.Zero(t, up.Size())
	empty := digest.FromBytes(nil)
	require.NoError(t, up.Commit(t.Context(), empty))

	size, err := d.Stat(t.Context(), empty)
	require.NoError(t, err)
	assert.Zero(t, size)
	assert.Empty(t, readBlob(t, d, empty))
}

// Uploads hash sha256 as bytes arrive; a sha512 commit rehashes what was
// stored, so a wrong sha512 must still be caught.
func testSHA512(t *testing.T, d storage.Driver) {
	content := []byte("hashed twice")
	dgst := digest.SHA512.FromBytes(content)
	n, err := storage.Put(t.Context(), d, dgst, chunked(content, 5))
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), n)

	size, err := d.Stat(t.Context(), dgst)
	require.NoError(t, err)
	assert.Equal(t, int64(len(content)), size)
	assert.Equal(t, content, readBlob(t, d, dgst))
	_, err = d.Stat(t.Context(), digest.FromBytes(content))
	assert.ErrorIs(t, err, storage.ErrBlobUnknown, "stored only under the committed digest")

	sum := sha512.Sum512([]byte("something else"))
	wrong := digest.NewDigestFromBytes(digest.SHA512, sum[:])
	_, err = storage.Put(t.Context(), d, wrong, chunked([]byte("different bytes"), 4))
	require.ErrorIs(t, err, storage.ErrDigestMismatch)
	_, err = d.Stat(t.Context(), wrong)
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
}

func testCommitExistingBlob(t *testing.T, d storage.Driver) {
	content := []byte("pushed twice")
	dgst := put(t, d, content)
	put(t, d, content)

	assert.Equal(t, content, readBlob(t, d, dgst))
	assert.Equal(t, map[digest.Digest]int64{dgst: int64(len(content))}, walk(t, d))
}

func testDeleteThenStat(t *testing.T, d storage.Driver) {
	dgst := put(t, d, []byte("short-lived"))
	require.NoError(t, d.Delete(t.Context(), dgst))

	_, err := d.Stat(t.Context(), dgst)
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
	_, err = d.Open(t.Context(), dgst)
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
	assert.ErrorIs(t, d.Delete(t.Context(), dgst), storage.ErrBlobUnknown)
}

func testDeleteUnknown(t *testing.T, d storage.Driver) {
	require.ErrorIs(t, d.Delete(t.Context(), unknown), storage.ErrBlobUnknown)
}

func testWalk(t *testing.T, d storage.Driver) {
	assert.Empty(t, walk(t, d))

	want := map[digest.Digest]int64{}
	for _, s := range []string{"", "a", "bb", "ccc"} {
		want[put(t, d, []byte(s))] = int64(len(s))
	}
	big := digest.SHA512.FromString("sha512 blob")
	_, err := storage.Put(t.Context(), d, big, chunked([]byte("sha512 blob"), 3))
	require.NoError(t, err)
	want[big] = int64(len("sha512 blob"))

	// Neither an open session nor a deleted blob is listed.
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, []byte("in progress"))
	require.NoError(t, d.Delete(t.Context(), put(t, d, []byte("deleted"))))

	assert.Equal(t, want, walk(t, d))
}

func testOpenSeek(t *testing.T, d storage.Driver) {
	content := []byte("0123456789abcdef")
	rc, err := d.Open(t.Context(), put(t, d, content))
	require.NoError(t, err)
	defer func() { require.NoError(t, rc.Close()) }()

	steps := []struct {
		offset int64
		whence int
		pos    int64
		read   string
	}{
		{10, io.SeekStart, 10, "abc"},
		{-4, io.SeekEnd, 12, "cd"},
		{-4, io.SeekCurrent, 10, "abcdef"},
		{0, io.SeekStart, 0, "0123"},
	}
	for _, s := range steps {
		pos, err := rc.Seek(s.offset, s.whence)
		require.NoError(t, err)
		require.Equal(t, s.pos, pos)
		buf := make([]byte, len(s.read))
		_, err = io.ReadFull(rc, buf)
		require.NoError(t, err)
		require.Equal(t, s.read, string(buf))
	}
}

// walk collects every committed blob and its size.
func walk(t *testing.T, d storage.Driver) map[digest.Digest]int64 {
	t.Helper()
	got := map[digest.Digest]int64{}
	err := d.Walk(t.Context(), func(dgst digest.Digest, size int64) error {
		_, dup := got[dgst]
		assert.False(t, dup, "Walk listed %s twice", dgst)
		got[dgst] = size
		return nil
	})
	require.NoError(t, err)
	return got
}
