// Package storagetest is the conformance suite every storage.Driver passes.
//
// A driver package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Driver { return memory.New() })
//	}
//
// Drivers that persist sessions also run RunRestart, which drops the driver
// mid-upload and resumes the session from a freshly opened one.
//
// One case streams a 64 MiB blob through the driver (4 MiB with -short).
package storagetest

import (
	"bytes"
	"io"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
)

type testCase struct {
	name string
	fn   func(t *testing.T, d storage.Driver)
}

// Run checks newDriver's drivers against the storage contract. Each subtest
// gets its own driver and runs in parallel with the others.
func Run(t *testing.T, newDriver func(t *testing.T) storage.Driver) {
	t.Helper()
	for _, tc := range slices.Concat(blobCases(), uploadCases(), failureCases()) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newDriver(t))
		})
	}
}

// put stores content as a blob and fails the test on error.
func put(t *testing.T, d storage.Driver, content []byte) digest.Digest {
	t.Helper()
	dgst := digest.FromBytes(content)
	n, err := storage.Put(t.Context(), d, dgst, bytes.NewReader(content))
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), n)
	return dgst
}

// readBlob returns a committed blob's full content.
func readBlob(t *testing.T, d storage.Driver, dgst digest.Digest) []byte {
	t.Helper()
	rc, err := d.Open(t.Context(), dgst)
	require.NoError(t, err)
	defer func() { require.NoError(t, rc.Close()) }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// write appends chunk to up and checks the returned count and new Size.
func write(t *testing.T, up storage.Upload, chunk []byte) {
	t.Helper()
	before := up.Size()
	n, err := up.Write(t.Context(), bytes.NewReader(chunk))
	require.NoError(t, err)
	require.Equal(t, int64(len(chunk)), n)
	require.Equal(t, before+n, up.Size())
}
