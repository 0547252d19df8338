package chart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/berthlabs/berth/storage/memory"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recordSink struct{ events []Event }

func (s *recordSink) Emit(_ context.Context, e Event) { s.events = append(s.events, e) }

func TestUploadListGetDelete(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		sink := &recordSink{}
		r, blobs := newRepo(t, WithEventSink(sink))
		archive := makeChart(t, "nginx", "1.2.3")

		v, err := r.Upload(ctx, "library", bytes.NewReader(archive), nil, false)
		require.NoError(t, err)
		sum := sha256.Sum256(archive)
		assert.Equal(t, hex.EncodeToString(sum[:]), v.Digest)
		assert.Equal(t, int64(len(archive)), v.Size)
		assert.Equal(t, []string{"charts/nginx-1.2.3.tgz"}, v.URLs)

		got, err := r.Get(ctx, "library", "nginx", "1.2.3")
		require.NoError(t, err)
		assert.Equal(t, "1.16.0", got.AppVersion)
		assert.Equal(t, "A test chart called nginx", got.Description)
		assert.Equal(t, "https://example.com/icon.png", got.Icon)
		assert.Equal(t, []string{"test", "berth"}, got.Keywords)
		assert.Equal(t, "https://example.com", got.Home)
		assert.Equal(t, []string{"https://example.com/src"}, got.Sources)
		require.Len(t, got.Maintainers, 1)
		assert.Equal(t, "ada@example.com", got.Maintainers[0].Email)
		assert.Equal(t, "v2", got.APIVersion)
		assert.Equal(t, "application", got.Type)
		assert.Equal(t, v.Digest, got.Digest)

		// The same bytes in another project are stored once.
		_, err = r.Upload(ctx, "other", bytes.NewReader(archive), nil, false)
		require.NoError(t, err)
		assert.Equal(t, 1, blobCount(t, blobs))

		all, err := r.List(ctx, "library")
		require.NoError(t, err)
		require.Len(t, all["nginx"], 1)

		require.NoError(t, r.Delete(ctx, "library", "nginx", "1.2.3"))
		_, err = r.Get(ctx, "library", "nginx", "1.2.3")
		assert.ErrorIs(t, err, ErrNotFound)
		assert.ErrorIs(t, r.Delete(ctx, "library", "nginx", "1.2.3"), ErrNotFound)
		_, err = r.Get(ctx, "other", "nginx", "1.2.3")
		assert.NoError(t, err, "other project keeps its copy")

		require.Len(t, sink.events, 3)
		assert.Equal(t, EventDelete, sink.events[2].Action)
		assert.Equal(t, "sha256:"+v.Digest, sink.events[2].Digest)
	})
}

func TestDuplicateAndForce(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		r, _ := newRepo(t)
		first := makeChart(t, "app", "0.1.0")
		_, err := r.Upload(ctx, "p", bytes.NewReader(first), nil, false)
		require.NoError(t, err)
		before, err := r.Index(ctx, "p")
		require.NoError(t, err)

		// Different bytes, same name and version.
		second := tgz(t, entry{name: "app/Chart.yaml", body: chartYAML("app", "0.1.0") + "deprecated: true\n"})
		_, err = r.Upload(ctx, "p", bytes.NewReader(second), nil, false)
		require.ErrorIs(t, err, ErrExists)
		after, err := r.Index(ctx, "p")
		require.NoError(t, err)
		assert.Equal(t, before, after, "a refused duplicate leaves the index unchanged")

		v, err := r.Upload(ctx, "p", bytes.NewReader(second), nil, true)
		require.NoError(t, err)
		got, err := r.Get(ctx, "p", "app", "0.1.0")
		require.NoError(t, err)
		assert.Equal(t, v.Digest, got.Digest)
		assert.True(t, got.Deprecated)
		vs, err := r.Versions(ctx, "p", "app")
		require.NoError(t, err)
		assert.Len(t, vs, 1)
	})
}

func TestBadUploadsRefused(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		good := makeChart(t, "good", "1.0.0")
		cases := []struct {
			name    string
			archive []byte
			want    error
			msg     string
		}{
			{"corrupt gzip", append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xff}, 64)...), ErrInvalidChart, "corrupt"},
			{"truncated gzip", good[:len(good)/2], ErrInvalidChart, "corrupt"},
			{"not gzip", []byte("hello, world"), ErrInvalidChart, "gzip"},
			{"parent path", tgz(t,
				entry{name: "evil/Chart.yaml", body: chartYAML("evil", "1.0.0")},
				entry{name: "evil/../../etc/passwd", body: "x"}), ErrInvalidChart, "parent directory"},
			{"leading parent path", tgz(t, entry{name: "../evil/Chart.yaml", body: chartYAML("evil", "1.0.0")}), ErrInvalidChart, "parent directory"},
			{"absolute path", tgz(t,
				entry{name: "evil/Chart.yaml", body: chartYAML("evil", "1.0.0")},
				entry{name: "/etc/passwd", body: "x"}), ErrInvalidChart, "absolute"},
			{"symlink", tgz(t,
				entry{name: "evil/Chart.yaml", body: chartYAML("evil", "1.0.0")},
				entry{name: "evil/link", body: "/etc/passwd", typ: '2'}), ErrInvalidChart, "link"},
			{"missing Chart.yaml", tgz(t, entry{name: "nochart/values.yaml", body: "a: b\n"}), ErrInvalidChart, "Chart.yaml"},
			{"name mismatch", tgz(t, entry{name: "other/Chart.yaml", body: chartYAML("good", "1.0.0")}), ErrInvalidChart, "does not match"},
			{"bad version", tgz(t, entry{name: "good/Chart.yaml", body: chartYAML("good", "one")}), ErrInvalidChart, ""},
			{"bad name", tgz(t, entry{name: "a b/Chart.yaml", body: chartYAML("a b", "1.0.0")}), ErrInvalidChart, ""},
			{"empty", nil, ErrInvalidChart, ""},
		}
		db := openDB(t) // one database: each case in a project of its own
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				blobs := memory.New()
				r, err := New(ctx, blobs, db)
				require.NoError(t, err)
				p := fmt.Sprintf("p%d", i)
				_, err = r.Upload(ctx, p, bytes.NewReader(good), nil, false)
				require.NoError(t, err)
				before, err := r.Index(ctx, p)
				require.NoError(t, err)

				_, err = r.Upload(ctx, p, bytes.NewReader(tc.archive), nil, false)
				require.ErrorIs(t, err, tc.want)
				assert.Contains(t, err.Error(), tc.msg)

				after, err := r.Index(ctx, p)
				require.NoError(t, err)
				assert.Equal(t, before, after)
				assert.Equal(t, 1, blobCount(t, blobs), "nothing stored")
			})
		}
	})
}

// On SQLite only: the refusal comes before anything is stored.
func TestUploadTooLarge(t *testing.T) {
	ctx := context.Background()
	r, blobs := newRepo(t, WithMaxArchiveSize(1024))
	big := tgz(t, entry{name: "big/Chart.yaml", body: chartYAML("big", "1.0.0")},
		entry{name: "big/random.txt", body: hex.EncodeToString(bytes.Repeat([]byte{1, 2, 3}, 1000))})
	big = append(big, make([]byte, 2048)...)
	_, err := r.Upload(ctx, "p", bytes.NewReader(big), nil, false)
	var tl *TooLargeError
	require.True(t, errors.As(err, &tl), "got %v", err)
	assert.Equal(t, int64(1024), tl.Limit)
	assert.Equal(t, 0, blobCount(t, blobs))
	all, err := r.List(ctx, "p")
	require.NoError(t, err)
	assert.Empty(t, all)
}
