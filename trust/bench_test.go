package trust_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/trust"
)

// BenchmarkManifestGet measures a manifest GET served in process, with no
// gate and with the trust gate answering from its cache (the image is
// signed; the policy requires a trusted signature). The gate's cost is the
// difference; the acceptance bar is under 10 % of the ungated request.
func BenchmarkManifestGet(b *testing.B) {
	e := newEnv(b)
	key := ecKey(b)
	e.addPEM(b, "", "release", pubPEM(b, key))
	e.setPolicy(b, "bench", trust.Policy{Mode: trust.ModeAny})
	s := e.pushImage(b, "bench/app", "v1")
	e.signCosign(b, s, key, false)

	// The same content in a registry with no gate.
	plain, err := registry.New(context.Background(), memoryDriver(), nil)
	require.NoError(b, err)
	pc := trust.Registry(plain.Transport("bench"), "http://plain")
	ps := pushSameImage(b, pc, e, s)
	require.Equal(b, s.Digest, ps)

	get := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest(http.MethodGet, "/v2/bench/app/manifests/"+s.Digest.String(), nil)
		req.Header.Set("Accept", s.MediaType)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	}
	b.Run("ungated", func(b *testing.B) { get(b, plain) })
	b.Run("gated-cached", func(b *testing.B) { get(b, e.reg) })
	b.Run("gate-only-cached", func(b *testing.B) {
		t := registry.Target{Repository: s.Repository, Reference: s.Digest.String(), Digest: s.Digest, MediaType: s.MediaType, Size: s.Size}
		ctx := context.Background()
		require.NoError(b, e.gate.CheckPull(ctx, t))
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := e.gate.CheckPull(ctx, t); err != nil {
				b.Fatal(err)
			}
		}
	})
}
