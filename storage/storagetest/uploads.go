package storagetest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
)

func uploadCases() []testCase {
	return []testCase{
		{"MultiChunk", testMultiChunk},
		{"ResumeContinuesAtOffset", testResume},
		{"CommitRemovesSession", testCommitRemovesSession},
		{"CancelThenResume", testCancelThenResume},
		{"DigestMismatch", testDigestMismatch},
		{"UnsupportedAlgorithm", testUnsupportedAlgorithm},
		{"PurgeUploads", testPurgeUploads},
		{"UploadIDs", testUploadIDs},
		{"ResumeRejectsPathTricks", testResumeRejectsPathTricks},
		{"ConcurrentUploads", testConcurrentUploads},
	}
}

func testMultiChunk(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	chunks := [][]byte{[]byte("first,"), {}, []byte("second,"), bytes.Repeat([]byte("x"), 3<<20)}
	var all []byte
	for _, c := range chunks {
		write(t, up, c)
		all = append(all, c...)
	}
	require.NoError(t, up.Commit(t.Context(), digest.FromBytes(all)))
	assert.Equal(t, all, readBlob(t, d, digest.FromBytes(all)))
}

func testResume(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, []byte("hello, "))

	again, err := d.ResumeUpload(t.Context(), up.ID())
	require.NoError(t, err)
	assert.Equal(t, up.ID(), again.ID())
	assert.Equal(t, int64(7), again.Size())
	assert.True(t, up.StartedAt().Equal(again.StartedAt()), "StartedAt %v != %v", up.StartedAt(), again.StartedAt())
	write(t, again, []byte("world"))

	want := []byte("hello, world")
	require.NoError(t, again.Commit(t.Context(), digest.FromBytes(want)))
	assert.Equal(t, want, readBlob(t, d, digest.FromBytes(want)))
}

func testCommitRemovesSession(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, []byte("done"))
	require.NoError(t, up.Commit(t.Context(), digest.FromString("done")))

	_, err = d.ResumeUpload(t.Context(), up.ID())
	assert.ErrorIs(t, err, storage.ErrUploadUnknown)
	_, err = up.Write(t.Context(), strings.NewReader("more"))
	assert.ErrorIs(t, err, storage.ErrUploadUnknown)
}

func testCancelThenResume(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, []byte("abandoned"))
	require.NoError(t, up.Cancel(t.Context()))

	_, err = d.ResumeUpload(t.Context(), up.ID())
	assert.ErrorIs(t, err, storage.ErrUploadUnknown)
	assert.ErrorIs(t, up.Commit(t.Context(), digest.FromString("abandoned")), storage.ErrUploadUnknown)
	_, err = d.Stat(t.Context(), digest.FromString("abandoned"))
	assert.ErrorIs(t, err, storage.ErrBlobUnknown)
}

func testDigestMismatch(t *testing.T, d storage.Driver) {
	content := []byte("actual bytes")
	claimed := digest.FromString("claimed bytes")
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, content)

	err = up.Commit(t.Context(), claimed)
	require.ErrorIs(t, err, storage.ErrDigestMismatch)
	assert.Contains(t, err.Error(), claimed.String(), "message names the expected digest")
	assert.Contains(t, err.Error(), digest.FromBytes(content).String(), "message names the actual digest")

	for _, dgst := range []digest.Digest{claimed, digest.FromBytes(content)} {
		_, err = d.Stat(t.Context(), dgst)
		assert.ErrorIs(t, err, storage.ErrBlobUnknown)
		_, err = d.Open(t.Context(), dgst)
		assert.ErrorIs(t, err, storage.ErrBlobUnknown)
	}
	_, err = d.ResumeUpload(t.Context(), up.ID())
	assert.ErrorIs(t, err, storage.ErrUploadUnknown, "a failed commit removes the session")
	assert.Empty(t, walk(t, d))
}

// A commit with a digest the driver cannot check is a client error: it
// publishes nothing and leaves the session for a corrected commit.
func testUnsupportedAlgorithm(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, []byte("content"))

	for _, dgst := range []digest.Digest{
		"md5:9a0364b9e99bb480dd25e1f0284c8555",
		digest.SHA384.FromString("content"),
	} {
		require.ErrorIs(t, up.Commit(t.Context(), dgst), storage.ErrUnsupportedAlgo, "%s", dgst)
	}
	assert.Empty(t, walk(t, d))
	require.NoError(t, up.Commit(t.Context(), digest.FromString("content")))
}

func testPurgeUploads(t *testing.T, d storage.Driver) {
	newWritten := func() storage.Upload {
		up, err := d.NewUpload(t.Context())
		require.NoError(t, err)
		write(t, up, []byte("x"))
		return up
	}
	idle := newWritten()
	active := newWritten()
	time.Sleep(20 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(20 * time.Millisecond)
	write(t, active, []byte("y")) // started before the cutoff, written after
	fresh := newWritten()

	n, err := d.PurgeUploads(t.Context(), cutoff)
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	_, err = d.ResumeUpload(t.Context(), idle.ID())
	assert.ErrorIs(t, err, storage.ErrUploadUnknown)
	for _, up := range []storage.Upload{active, fresh} {
		again, err := d.ResumeUpload(t.Context(), up.ID())
		require.NoError(t, err)
		assert.Equal(t, up.Size(), again.Size())
	}
	n, err = d.PurgeUploads(t.Context(), cutoff)
	require.NoError(t, err)
	assert.Zero(t, n)
}

// Upload IDs travel in URLs and are the only capability a client needs to
// write to a session, so they must be URL-safe and unguessable.
func testUploadIDs(t *testing.T, d storage.Driver) {
	seen := map[string]bool{}
	for range 64 {
		up, err := d.NewUpload(t.Context())
		require.NoError(t, err)
		id := up.ID()
		// 22 characters is the shortest URL-safe spelling of 128 bits.
		require.Regexp(t, `^[A-Za-z0-9_-]{22,}$`, id)
		require.False(t, seen[id], "duplicate upload ID %q", id)
		seen[id] = true
	}
}

func testResumeRejectsPathTricks(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	id := up.ID()
	tricks := []string{
		"", ".", "..", "../x", "a/b", "/", "./" + id, id + "/", id + "/.", "../uploads/" + id,
		id + "/../" + id, id + "/data", id + "\x00", " " + id, strings.ToUpper(id), strings.ToLower(id),
	}
	for _, trick := range tricks {
		if trick == id {
			continue // the ID has no letters of that case
		}
		_, err := d.ResumeUpload(t.Context(), trick)
		assert.ErrorIs(t, err, storage.ErrUploadUnknown, "ResumeUpload(%q)", trick)
	}
}

// Two clients pushing the same layer commit at the same moment; both must
// succeed and the blob must be whole. Distinct blobs run alongside.
func testConcurrentUploads(t *testing.T, d storage.Driver) {
	same := bytes.Repeat([]byte("shared layer "), 100_000)
	contents := [][]byte{same, same, same, same, []byte("one"), []byte("two"), []byte("three")}
	errs := make([]error, len(contents))

	var written, done sync.WaitGroup
	written.Add(len(contents))
	start := make(chan struct{})
	for i, c := range contents {
		done.Go(func() {
			up, err := d.NewUpload(t.Context())
			if err == nil {
				_, err = up.Write(t.Context(), bytes.NewReader(c))
			}
			written.Done()
			<-start // every session is written: commit all at once
			if err == nil {
				err = up.Commit(t.Context(), digest.FromBytes(c))
			}
			errs[i] = err
		})
	}
	written.Wait()
	close(start)
	done.Wait()

	for i, c := range contents {
		require.NoError(t, errs[i], "upload %d", i)
		assert.Equal(t, c, readBlob(t, d, digest.FromBytes(c)))
	}
	assert.Len(t, walk(t, d), 4)
}
