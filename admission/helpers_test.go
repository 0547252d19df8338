package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/registry"
)

// fakeRegistry resolves references from a map and refuses the digests of
// refused, counting what it is asked.
type fakeRegistry struct {
	mu       sync.Mutex
	targets  map[string]registry.Target // "repo:tag" and "repo@digest"
	refused  map[digest.Digest]string
	broken   map[string]bool // repositories whose lookups fail
	resolves atomic.Int64
	checks   atomic.Int64
	actors   []string
}

func newFakeRegistry() *fakeRegistry {
	return &fakeRegistry{targets: map[string]registry.Target{}, refused: map[digest.Digest]string{}, broken: map[string]bool{}}
}

// add stores a manifest under repo, tagged tag ("" for none), and returns
// its digest.
func (f *fakeRegistry) add(repo, tag, mediaType string, manifest []byte) digest.Digest {
	d := digest.FromBytes(manifest)
	t := registry.Target{Repository: repo, Digest: d, MediaType: mediaType, Size: int64(len(manifest)), Manifest: manifest}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Reference = d.String()
	f.targets[repo+"@"+d.String()] = t
	if tag != "" {
		t.Reference = tag
		f.targets[repo+":"+tag] = t
	}
	return d
}

// image adds a distinct image manifest.
func (f *fakeRegistry) image(repo, tag string) digest.Digest {
	return f.add(repo, tag, "application/vnd.oci.image.manifest.v1+json",
		fmt.Appendf(nil, `{"schemaVersion":2,"config":{"digest":%q}}`, digest.FromString(repo+tag)))
}

func (f *fakeRegistry) Resolve(_ context.Context, repo, ref string) (registry.Target, error) {
	f.resolves.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken[repo] {
		return registry.Target{}, fmt.Errorf("database is down")
	}
	sep := ":"
	if _, err := digest.Parse(ref); err == nil {
		sep = "@"
	}
	t, ok := f.targets[repo+sep+ref]
	if !ok {
		return t, fmt.Errorf("manifest %s%s%s: %w", repo, sep, ref, core.ErrNotFound)
	}
	return t, nil
}

func (f *fakeRegistry) CheckPull(ctx context.Context, t registry.Target) error {
	f.checks.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actors = append(f.actors, registry.ActorFrom(ctx))
	if reason, ok := f.refused[t.Digest]; ok {
		return registry.Denied(reason)
	}
	return nil
}

// reviewOf wraps obj (of kind group/version/kind) in an AdmissionReview's
// JSON.
func reviewOf(t testing.TB, op admissionv1.Operation, gvk metav1.GroupVersionKind, obj, old any) []byte {
	t.Helper()
	req := &admissionv1.AdmissionRequest{UID: types.UID("uid-1"), Kind: gvk, Operation: op, Namespace: "apps", Name: "app"}
	if obj != nil {
		req.Object = runtime.RawExtension{Raw: mustJSON(t, obj)}
	}
	if old != nil {
		req.OldObject = runtime.RawExtension{Raw: mustJSON(t, old)}
	}
	rv := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req}
	return mustJSON(t, rv)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// post sends body to h and decodes the AdmissionReview answered; it fails
// the test on any status but 200.
func post(t testing.TB, h http.Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/k8s/admission/validate?timeout=10s", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out admissionv1.AdmissionReview
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.Equal(t, "admission.k8s.io/v1", out.APIVersion)
	require.Equal(t, "AdmissionReview", out.Kind)
	require.NotNil(t, out.Response)
	require.Equal(t, types.UID("uid-1"), out.Response.UID)
	return out.Response
}

var (
	podKind        = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	deploymentKind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	cronJobKind    = metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}
)
