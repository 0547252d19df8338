package filesystem_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
	"github.com/berthlabs/berth/storage/filesystem"
)

// Each case acknowledges "hello, " in a session, leaves the session
// directory as a crash at some point would, and reopens the store.
func TestCrashRecovery(t *testing.T) {
	appendTo := func(t *testing.T, path string, b []byte) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Write(b)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	resumeAt7 := func(t *testing.T, d *filesystem.Driver, id string) storage.Upload {
		up, err := d.ResumeUpload(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, int64(7), up.Size(), "only acknowledged bytes count")
		return up
	}
	gone := func(t *testing.T, d *filesystem.Driver, id string) {
		_, err := d.ResumeUpload(t.Context(), id)
		require.ErrorIs(t, err, storage.ErrUploadUnknown)
		n, err := d.PurgeUploads(t.Context(), time.Now().Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the leftover directory is purged")
	}

	cases := []struct {
		name  string
		crash func(t *testing.T, dir string) // dir is the session's directory
		check func(t *testing.T, d *filesystem.Driver, id string)
	}{{
		name:  "MidWriteThenContinue",
		crash: func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, "data"), []byte("garbage")) },
		check: func(t *testing.T, d *filesystem.Driver, id string) {
			up := resumeAt7(t, d, id)
			_, err := up.Write(t.Context(), bytes.NewReader([]byte("world")))
			require.NoError(t, err)
			commitAndRead(t, d, up, digest.FromString("hello, world"), "hello, world")
		},
	}, {
		name:  "MidWriteThenCommit",
		crash: func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, "data"), []byte("garbage")) },
		check: func(t *testing.T, d *filesystem.Driver, id string) {
			commitAndRead(t, d, resumeAt7(t, d, id), digest.FromString("hello, "), "hello, ")
		},
	}, {
		name:  "MidWriteThenCommitSHA512",
		crash: func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, "data"), []byte("garbage")) },
		check: func(t *testing.T, d *filesystem.Driver, id string) {
			commitAndRead(t, d, resumeAt7(t, d, id), digest.SHA512.FromString("hello, "), "hello, ")
		},
	}, {
		name: "TornStateTmp",
		crash: func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "state.tmp"), []byte(`{"offs`), 0o600))
		},
		check: func(t *testing.T, d *filesystem.Driver, id string) {
			up := resumeAt7(t, d, id)
			_, err := up.Write(t.Context(), bytes.NewReader([]byte("world")))
			require.NoError(t, err)
			commitAndRead(t, d, up, digest.FromString("hello, world"), "hello, world")
		},
	}, {
		name:  "AcknowledgedBytesLost", // only possible WithoutFsync
		crash: func(t *testing.T, dir string) { require.NoError(t, os.Truncate(filepath.Join(dir, "data"), 3)) },
		check: gone,
	}, {
		name:  "CommitRenamedButSessionLeft",
		crash: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "data"))) },
		check: gone,
	}, {
		name:  "InsideNewUpload",
		crash: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "state"))) },
		check: gone,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			up, err := open(t, root).NewUpload(t.Context())
			require.NoError(t, err)
			_, err = up.Write(t.Context(), bytes.NewReader([]byte("hello, ")))
			require.NoError(t, err)

			tc.crash(t, filepath.Join(root, "uploads", up.ID()))
			tc.check(t, open(t, root), up.ID())
		})
	}
}

func commitAndRead(t *testing.T, d *filesystem.Driver, up storage.Upload, dgst digest.Digest, want string) {
	t.Helper()
	require.NoError(t, up.Commit(t.Context(), dgst))
	rc, err := d.Open(t.Context(), dgst)
	require.NoError(t, err)
	defer rc.Close()
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
}
