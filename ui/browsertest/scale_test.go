package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
)

// pageTiming is what the browser measured of one page load
// (Navigation Timing, from the start of the navigation).
type pageTiming struct {
	Response    float64 `json:"response"`    // the server's answer fully received, ms
	Interactive float64 `json:"interactive"` // DOM interactive, ms
	Loaded      float64 `json:"loaded"`      // load event done (styles, script), ms
}

// measure loads path and returns the browser's timing of it.
func (b *browser) measure(path string) pageTiming {
	b.t.Helper()
	b.visit(path)
	return eval[pageTiming](b, `(() => { const n = performance.getEntriesByType("navigation")[0];
		return {response: n.responseEnd, interactive: n.domInteractive, loaded: n.loadEventEnd}; })()`)
}

// seedProjects creates n projects named p00000... through the API, a few
// at a time.
func seedProjects(b testing.TB, site *portaltest.Site, n int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				site.API(b, http.MethodPost, "/projects", map[string]any{"project_name": fmt.Sprintf("p%05d", i)}, nil)
			}
		}()
	}
	wg.Wait()
}

// seedTags pushes images artifacts images, each under tagsEach tags
// ("t0000-0".."t0000-4"), into repo through one registry client (one
// token per repository, as docker does).
func seedTags(b testing.TB, site *portaltest.Site, repo string, images, tagsEach int) {
	b.Helper()
	pusher, err := remote.NewPusher(remote.WithAuth(&authn.Basic{Username: "admin", Password: portaltest.AdminPassword}))
	require.NoError(b, err)
	ctx := context.Background()
	for i := range images {
		img, err := random.Image(256, 1)
		require.NoError(b, err)
		for j := range tagsEach {
			ref, err := name.ParseReference(fmt.Sprintf("%s/%s:t%04d-%d", site.Host, repo, i, j), name.Insecure)
			require.NoError(b, err)
			require.NoError(b, pusher.Push(ctx, ref, img))
		}
	}
}

// BenchmarkPortalAtScale measures, in the browser, the pages of an
// installation with 10,000 projects and a repository of 5,000 tags: each
// must be interactive well under a second, because every list is paged,
// sorted and filtered by the server. Seeding takes a few minutes; run it
// with -benchtime=1x:
//
//	go test ./ui/browsertest -run '^$' -bench PortalAtScale -benchtime=1x
func BenchmarkPortalAtScale(bm *testing.B) {
	site := portaltest.Start(bm)
	start := time.Now()
	seedProjects(bm, site, 10_000)
	bm.Logf("seeded 10,000 projects in %s", time.Since(start).Round(time.Second))
	start = time.Now()
	id := site.CreateProject(bm, "big", false)
	seedTags(bm, site, "big/app", 1000, 5)
	bm.Logf("seeded 5,000 tags on 1,000 artifacts in %s", time.Since(start).Round(time.Second))
	br := newBrowser(bm, site.URL)
	br.login("admin", portaltest.AdminPassword)
	pages := map[string]string{
		"projects, first page":                 "/projects",
		"projects, page 400 by name desc":      "/projects?page=400&page_size=25&sort=-name",
		"projects, sorted by creation time":    "/projects?sort=-creation_time&page_size=100",
		"projects, search":                     "/projects?q=p0999",
		"artifacts of a 5,000-tag repository":  fmt.Sprintf("/projects/%d/repositories/app", id),
		"its tags, first page":                 fmt.Sprintf("/projects/%d/repositories/app?view=tags", id),
		"its tags, page 100 of 100":            fmt.Sprintf("/projects/%d/repositories/app?view=tags&page=100&page_size=50", id),
		"its tags, sorted by name, descending": fmt.Sprintf("/projects/%d/repositories/app?view=tags&sort=-name", id),
		"its tags, filtered":                   fmt.Sprintf("/projects/%d/repositories/app?view=tags&q=t0999", id),
		"its artifacts, page 40 by size":       fmt.Sprintf("/projects/%d/repositories/app?page=40&page_size=25&sort=-size", id),
	}
	bm.ResetTimer()
	for range bm.N {
		for name, path := range pages {
			tm := br.measure(path)
			require.NotContains(bm, br.main(), "Something went wrong", name)
			bm.ReportMetric(tm.Interactive, "ms-interactive/"+metricName(name))
			bm.Logf("%-40s response %6.1f ms, interactive %6.1f ms, loaded %6.1f ms", name, tm.Response, tm.Interactive, tm.Loaded)
		}
	}
}

// metricName makes a page's name a benchmark metric unit.
func metricName(s string) string {
	out := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = append(out, r)
		case len(out) > 0 && out[len(out)-1] != '-':
			out = append(out, '-')
		}
	}
	return string(out)
}
