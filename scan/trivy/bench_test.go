package trivy_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/scan/trivy"
)

// sharedBase is a Debian base image with a large real layer (this
// machine's package state plus its Python packages and documentation,
// about 80 MB) and an application image that adds one small layer on top.
type sharedBase struct {
	e         *env
	dbDir     string
	base, app pushed
}

func newSharedBase(tb testing.TB) *sharedBase {
	tb.Helper()
	requireDebianHost(tb)
	e := newEnv(tb)
	e.pushTestDB(tb, dbRepo, testDBUpdatedAt)
	base := layer(tb, slices.Concat(
		debianFiles(tb),
		hostTree(tb, "/usr/lib/python3/dist-packages", 48<<20),
		hostTree(tb, "/usr/share/doc", 32<<20),
	))
	size, err := base.Size()
	require.NoError(tb, err)
	tb.Logf("base layer: %.1f MB compressed", float64(size)/(1<<20))
	sb := &sharedBase{
		e:     e,
		dbDir: filepath.Join(tb.TempDir(), "db"),
		base:  e.push(tb, "library/debian", image(tb, base)),
		app:   e.push(tb, "team/app", image(tb, base, appLayer(tb, "app"))),
	}
	// Download the DB once; rounds open it offline.
	s, err := trivy.New(context.Background(), trivy.WithDBRepository(e.host+"/"+dbRepo, e.rt, false), trivy.WithDBDir(sb.dbDir))
	require.NoError(tb, err)
	require.NoError(tb, s.Close())
	return sb
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
	require.Equal(tb, wantDebian, findings(rep))

	start = time.Now()
	rep, err = s.Scan(ctx, sb.e.request(sb.app))
	shared = time.Since(start)
	require.NoError(tb, err)
	require.Equal(tb, wantDebian, findings(rep))
	return first, shared
}

// BenchmarkRescanSharedBase reports the first scan of the base image and
// the scan of an image that shares its base layer, with a cold layer cache
// each round (in memory, and Trivy's on-disk cache).
//
//	GOEXPERIMENT=jsonv2 go test -run '^$' -bench RescanSharedBase -benchtime 5x
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
			b.ReportMetric(float64(shared)/float64(first), "ratio")
		})
	}
}

// TestRescanSharedBaseCost asserts the bound: scanning an image
// whose base layer was already scanned costs at most 30 % of the first
// scan (median of 3 rounds, on-disk layer cache).
func TestRescanSharedBaseCost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an 80 MB layer")
	}
	sb := newSharedBase(t)
	var ratios []float64
	for range 3 {
		first, shared := sb.round(t, t.TempDir())
		r := float64(shared) / float64(first)
		t.Logf("first scan %v, shared-base scan %v, ratio %.3f", first, shared, r)
		ratios = append(ratios, r)
	}
	slices.Sort(ratios)
	require.LessOrEqual(t, ratios[1], 0.30, "median ratio")
}
