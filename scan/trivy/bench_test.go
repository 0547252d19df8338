package trivy_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/scan/trivy"
	"github.com/berthlabs/berth/scan/trivy/trivytest"
)

// sharedBase is a Debian base image with a large real layer (this
// machine's package state plus its Python packages and documentation,
// about 80 MB) and an application image that adds one small layer on top.
type sharedBase struct {
	e         *env
	dbDir     string
	want      []trivytest.Finding
	base, app pushed
}

func newSharedBase(tb testing.TB) *sharedBase {
	tb.Helper()
	want := debianFindings(tb)
	e := newEnv(tb)
	e.pushDB(tb, dbRepo, trivytest.DBUpdatedAt)
	files := must(trivytest.DebianFiles())(tb)
	base := must(trivytest.Layer(slices.Concat(
		files,
		hostTree(tb, "/usr/lib/python3/dist-packages", 48<<20),
		hostTree(tb, "/usr/share/doc", 32<<20),
	)))(tb)
	tb.Logf("base layer: %.1f MB compressed", float64(must(base.Size())(tb))/(1<<20))
	baseImg := must(trivytest.Image(base))(tb)
	sb := &sharedBase{
		e:     e,
		dbDir: filepath.Join(tb.TempDir(), "db"),
		want:  want,
		base:  e.push(tb, "library/debian", baseImg),
		app:   e.push(tb, "team/app", must(trivytest.AppImage(baseImg, "app"))(tb)),
	}
	// Download the DB once; rounds open it offline.
	s, err := trivy.New(context.Background(), trivy.WithDBRepository(e.host+"/"+dbRepo, e.rt, false), trivy.WithDBDir(sb.dbDir))
	require.NoError(tb, err)
	require.NoError(tb, s.Close())
	return sb
}

// hostTree is the regular files under root on this machine, as they are
// (real documentation, real binaries), up to about limit bytes.
func hostTree(tb testing.TB, root string, limit int64) []trivytest.File {
	tb.Helper()
	var files []trivytest.File
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || total >= limit {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil // unreadable: skip
		}
		total += int64(len(data))
		files = append(files, trivytest.File{Path: strings.TrimPrefix(p, "/"), Data: data})
		return nil
	})
	require.NoError(tb, err)
	return files
}

// round opens a Scanner with an empty layer cache, scans the base image,
// then the application image, and returns both durations.
func (sb *sharedBase) round(tb testing.TB, cacheDir string) (first, shared time.Duration) {
	tb.Helper()
	opts := []trivy.Option{trivy.WithOffline(), trivy.WithDBDir(sb.dbDir)}
	if cacheDir != "" {
		opts = append(opts, trivy.WithCacheDir(cacheDir))
	}
	s, err := trivy.New(context.Background(), opts...)
	require.NoError(tb, err)
	defer s.Close()
	ctx := context.Background()

	start := time.Now()
	rep, err := s.Scan(ctx, sb.e.request(sb.base))
	first = time.Since(start)
	require.NoError(tb, err)
	require.Equal(tb, sb.want, trivytest.Findings(rep))

	start = time.Now()
	rep, err = s.Scan(ctx, sb.e.request(sb.app))
	shared = time.Since(start)
	require.NoError(tb, err)
	require.Equal(tb, sb.want, trivytest.Findings(rep))
	return first, shared
}

// BenchmarkRescanSharedBase measures what the layer cache saves: each
// round opens a Scanner with a cold layer cache (in memory, or Trivy's
// on-disk cache), scans the base image, then an image that shares its
// base layer. It reports the mean first scan (first-ms), the mean
// shared-base scan (shared-base-ms) and their ratio (shared/first; the
// goal is at most 0.30). That the shared-base scan reads no base-layer
// blob is asserted, structurally, by TestScanDebianFromBerth.
//
//	GOWORK=off GOEXPERIMENT=jsonv2 go test -run '^$' -bench RescanSharedBase -benchtime 5x
func BenchmarkRescanSharedBase(b *testing.B) {
	sb := newSharedBase(b)
	for _, tc := range []struct {
		name string
		fs   bool
	}{{"memory-cache", false}, {"fs-cache", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var first, shared time.Duration
			for b.Loop() {
				dir := ""
				if tc.fs {
					dir = b.TempDir()
				}
				f, s := sb.round(b, dir)
				first += f
				shared += s
			}
			n := float64(b.N)
			b.ReportMetric(float64(first.Milliseconds())/n, "first-ms")
			b.ReportMetric(float64(shared.Milliseconds())/n, "shared-base-ms")
			b.ReportMetric(float64(shared)/float64(first), "shared/first")
		})
	}
}
