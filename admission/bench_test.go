package admission

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// BenchmarkReviewCached measures a whole review answered from cached
// decisions — decode, judge four images (three of berth's, pinned, one
// of another registry), encode the patch — through the mutating handler,
// and reports its latency percentiles. The goal: p99 < 50 ms.
func BenchmarkReviewCached(b *testing.B) {
	f := newFixture()
	rv := f.reviewer(b, WithCacheTTL(time.Hour))
	d := deployment(host+"/library/app:v1", host+"/library/multi:v1", "nginx:1.27")
	d.Spec.Template.Spec.InitContainers = pod(nil, []string{host + "/library/app@" + f.good.String()}, nil).Spec.Containers
	body := reviewOf(b, admissionv1.Create, deploymentKind, d, nil)
	h := rv.Mutate()
	serve := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/k8s/admission/mutate", bytes.NewReader(body)))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	serve() // fills the cache
	resolves := f.reg.resolves.Load()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		serve()
		lat = append(lat, time.Since(start))
	}
	if f.reg.resolves.Load() != resolves {
		b.Fatal("a cached review reached the registry")
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
