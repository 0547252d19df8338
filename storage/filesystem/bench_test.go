package filesystem_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage/filesystem"
)

// BenchmarkUpload measures NewUpload, one Write and Commit. The 64 MiB case
// is throughput, to compare with BenchmarkBaseline (the goal is sha256 plus a
// disk write, not more); the 4 KiB case is the fixed cost of a session.
func BenchmarkUpload(b *testing.B) {
	block := benchBlock()
	for _, size := range []int64{64 << 20, 4 << 10} {
		for _, mode := range []struct {
			name string
			opts []filesystem.Option
		}{
			{"fsync", nil},
			{"nofsync", []filesystem.Option{filesystem.WithoutFsync()}},
		} {
			b.Run(fmt.Sprintf("%s/%s", sizeName(size), mode.name), func(b *testing.B) {
				d, err := filesystem.New(b.TempDir(), mode.opts...)
				require.NoError(b, err)
				b.SetBytes(size)
				for i := range b.N {
					b.StopTimer()
					dgst := sourceDigest(block, i, size)
					b.StartTimer()

					up, err := d.NewUpload(b.Context())
					require.NoError(b, err)
					_, err = up.Write(b.Context(), source(block, i, size))
					require.NoError(b, err)
					require.NoError(b, up.Commit(b.Context(), dgst))

					b.StopTimer()
					require.NoError(b, d.Delete(b.Context(), dgst))
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkBaseline is the floor for BenchmarkUpload's 64 MiB case: hashing
// alone, and writing plus fsyncing a new file alone.
func BenchmarkBaseline(b *testing.B) {
	const size = 64 << 20
	block := benchBlock()
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(size)
		for i := range b.N {
			_, err := io.Copy(sha256.New(), source(block, i, size))
			require.NoError(b, err)
		}
	})
	b.Run("write+fsync", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(size)
		for i := range b.N {
			path := filepath.Join(dir, fmt.Sprint(i))
			f, err := os.Create(path)
			require.NoError(b, err)
			_, err = io.CopyBuffer(struct{ io.Writer }{f}, source(block, i, size), make([]byte, 1<<20))
			require.NoError(b, err)
			require.NoError(b, f.Sync())
			require.NoError(b, f.Close())

			b.StopTimer()
			require.NoError(b, os.Remove(path))
			b.StartTimer()
		}
	})
}

// source returns size bytes that differ for every i, so each iteration
// commits a new blob, and that come from memory, not from a generator slower
// than the code under test. It offers only Read, like an HTTP request body.
func source(block []byte, i int, size int64) io.Reader {
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(i))
	return io.MultiReader(bytes.NewReader(prefix[:]), &cycle{block: block, left: size - 8})
}

func sourceDigest(block []byte, i int, size int64) digest.Digest {
	dg := digest.SHA256.Digester()
	_, _ = io.Copy(dg.Hash(), source(block, i, size))
	return dg.Digest()
}

// benchBlock is 1 MiB of random bytes that source repeats.
func benchBlock() []byte {
	b := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{}).Read(b)
	return b
}

func sizeName(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// cycle repeats block until left bytes have been read.
type cycle struct {
	block []byte
	off   int
	left  int64
}

func (c *cycle) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), c.left)]
	n := copy(p, c.block[c.off:])
	c.off = (c.off + n) % len(c.block)
	c.left -= int64(n)
	return n, nil
}
