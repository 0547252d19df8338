package admission

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const host = "berth.example.com"

// fixture is a registry holding good (allowed), bad (refused by the gate)
// and a multi-platform image whose arm64 manifest is refused.
type fixture struct {
	reg             *fakeRegistry
	good, bad, arm  digest.Digest
	multi, badChild digest.Digest
}

func newFixture() *fixture {
	f := &fixture{reg: newFakeRegistry()}
	f.good = f.reg.image("library/app", "v1")
	f.bad = f.reg.image("library/app", "unsigned")
	f.reg.refused[f.bad] = "no valid signature"
	amd := f.reg.image("library/multi", "amd64")
	f.badChild = f.reg.image("library/multi", "arm64")
	f.reg.refused[f.badChild] = "2 critical vulnerabilities"
	idx := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + amd.String() + `","size":1,"platform":{"os":"linux","architecture":"amd64"}},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + f.badChild.String() + `","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`
	f.multi = f.reg.add("library/multi", "v1", "application/vnd.oci.image.index.v1+json", []byte(idx))
	return f
}

func (f *fixture) reviewer(t testing.TB, opts ...Option) *Reviewer {
	t.Helper()
	rv, err := New(f.reg, f.reg, []string{host, "berth.berth.svc:5000"}, append([]Option{
		WithPinning(), WithLogger(slog.New(slog.DiscardHandler)),
		WithRules(Rules{Allow: []string{"docker.io/library/*", "ghcr.io/acme/**"}, Deny: []string{"ghcr.io/acme/legacy/**"}}),
	}, opts...)...)
	require.NoError(t, err)
	return rv
}

func pod(init []string, containers []string, ephemeral []string) *corev1.Pod {
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "app"}}
	for i, img := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init" + string(rune('a'+i)), Image: img})
	}
	for i, img := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + string(rune('a'+i)), Image: img})
	}
	for i, img := range ephemeral {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers,
			corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug" + string(rune('a'+i)), Image: img}})
	}
	return p
}

func deployment(images ...string) *appsv1.Deployment {
	d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}}
	d.Spec.Template.Spec = pod(nil, images, nil).Spec
	return d
}

func cronJob(init, images []string) *batchv1.CronJob {
	c := &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}}
	c.Spec.Schedule = "@hourly"
	c.Spec.JobTemplate.Spec.Template.Spec = pod(init, images, nil).Spec
	return c
}

// TestReview decides real AdmissionReviews of each kind, by tag and by
// digest, in this registry and in others.
func TestReview(t *testing.T) {
	f := newFixture()
	rv := f.reviewer(t)
	good, bad := host+"/library/app:v1", host+"/library/app:unsigned"
	goodPinned := good + "@" + f.good.String()
	byDigest := host + "/library/app@" + f.good.String()
	for _, c := range []struct {
		name    string
		kind    metav1.GroupVersionKind
		obj     any
		refused []string          // substrings of the message; none: allowed
		patched map[string]string // JSON pointer → image after the patch
	}{
		{name: "pod by tag", kind: podKind, obj: pod(nil, []string{good}, nil),
			patched: map[string]string{"/spec/containers/0/image": goodPinned}},
		{name: "pod by digest is not patched", kind: podKind, obj: pod(nil, []string{byDigest, good + "@" + f.good.String()}, nil)},
		{name: "second service name of berth", kind: podKind, obj: pod(nil, []string{"berth.berth.svc:5000/library/app:v1"}, nil),
			patched: map[string]string{"/spec/containers/0/image": "berth.berth.svc:5000/library/app:v1@" + f.good.String()}},
		{name: "unsigned refused with the gate's reason", kind: podKind, obj: pod(nil, []string{good, bad}, nil),
			refused: []string{"berth refused 1 image(s): image " + bad + " (" + f.bad.String() + "): no valid signature"}},
		{name: "refused by digest", kind: podKind, obj: pod(nil, []string{host + "/library/app@" + f.bad.String()}, nil),
			refused: []string{"no valid signature"}},
		{name: "init and ephemeral containers", kind: podKind, obj: pod([]string{good}, []string{"nginx:1.27"}, []string{good}),
			patched: map[string]string{"/spec/initContainers/0/image": goodPinned, "/spec/ephemeralContainers/0/image": goodPinned,
				"/spec/containers/0/image": "nginx:1.27"}},
		{name: "refused ephemeral container", kind: podKind, obj: pod(nil, []string{good}, []string{bad}),
			refused: []string{"image " + bad}},
		{name: "deployment", kind: deploymentKind, obj: deployment("busybox", good),
			patched: map[string]string{"/spec/template/spec/containers/1/image": goodPinned}},
		{name: "deployment refused", kind: deploymentKind, obj: deployment(bad), refused: []string{"no valid signature"}},
		{name: "cronjob", kind: cronJobKind, obj: cronJob([]string{good}, []string{"ghcr.io/acme/tools/cli:2"}),
			patched: map[string]string{"/spec/jobTemplate/spec/template/spec/initContainers/0/image": goodPinned}},
		{name: "cronjob refused", kind: cronJobKind, obj: cronJob([]string{bad}, nil), refused: []string{"image " + bad}},
		{name: "unknown tag", kind: podKind, obj: pod(nil, []string{host + "/library/app:v9"}, nil),
			refused: []string{"image " + host + "/library/app:v9: not found in this registry", "library/app:v9"}},
		{name: "unknown repository", kind: podKind, obj: pod(nil, []string{host + "/nope/app:v1"}, nil),
			refused: []string{"not found in this registry"}},
		{name: "index with a refused platform", kind: podKind, obj: pod(nil, []string{host + "/library/multi:v1"}, nil),
			refused: []string{"(" + f.multi.String() + "): platform linux/arm64/v8 (" + f.badChild.String() + "): 2 critical vulnerabilities"}},
		{name: "other registry denied", kind: podKind, obj: pod(nil, []string{"ghcr.io/acme/legacy/app:1", "ghcr.io/acme/app:1"}, nil),
			refused: []string{"berth refused 1 image(s): image ghcr.io/acme/legacy/app:1: denied by the admission rule \"ghcr.io/acme/legacy/**\""}},
		{name: "other registry neither allowed nor denied", kind: podKind, obj: pod(nil, []string{"quay.io/x/y:1"}, nil)},
		{name: "invalid reference", kind: podKind, obj: pod(nil, []string{"UPPER/Case:1"}, nil),
			refused: []string{"not a valid image reference"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := reviewOf(t, admissionv1.Create, c.kind, c.obj, nil)
			validated, mutated := post(t, rv.Validate(), body), post(t, rv.Mutate(), body)
			for _, resp := range []*admissionv1.AdmissionResponse{validated, mutated} {
				if len(c.refused) > 0 {
					require.False(t, resp.Allowed)
					require.NotNil(t, resp.Result)
					assert.Equal(t, int32(403), resp.Result.Code)
					assert.Equal(t, metav1.StatusReasonForbidden, resp.Result.Reason)
					for _, want := range c.refused {
						assert.Contains(t, resp.Result.Message, want)
					}
					assert.Empty(t, resp.Patch)
					continue
				}
				require.True(t, resp.Allowed, "%+v", resp.Result)
			}
			assert.Empty(t, validated.Patch, "the validating path never patches")
			if len(c.patched) == 0 || len(c.refused) > 0 {
				assert.Empty(t, mutated.Patch)
				return
			}
			require.NotNil(t, mutated.PatchType)
			assert.Equal(t, admissionv1.PatchTypeJSONPatch, *mutated.PatchType)
			patched := applyPatch(t, mustJSON(t, c.obj), mutated.Patch)
			for pointer, want := range c.patched {
				assert.Equal(t, want, imageAtPointer(t, c.kind, patched, pointer), pointer)
			}
		})
	}
}

// applyPatch applies an RFC 6902 patch as the API server does.
func applyPatch(t testing.TB, doc, patch []byte) []byte {
	t.Helper()
	p, err := jsonpatch.DecodePatch(patch)
	require.NoError(t, err, "a valid JSON Patch: %s", patch)
	out, err := p.Apply(doc)
	require.NoError(t, err, "the patch applies: %s", patch)
	return out
}

// imageAtPointer decodes a patched object strictly into its Kubernetes
// type (the patch leaves a valid object) and returns the string the JSON
// pointer names.
func imageAtPointer(t testing.TB, kind metav1.GroupVersionKind, obj []byte, pointer string) string {
	t.Helper()
	typed := map[string]any{"Pod": &corev1.Pod{}, "Deployment": &appsv1.Deployment{}, "CronJob": &batchv1.CronJob{}}[kind.Kind]
	require.NotNil(t, typed, kind.Kind)
	dec := json.NewDecoder(bytes.NewReader(obj))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(typed))
	var node any
	require.NoError(t, json.Unmarshal(obj, &node))
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		switch n := node.(type) {
		case map[string]any:
			node = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			require.NoError(t, err)
			require.Less(t, i, len(n), pointer)
			node = n[i]
		default:
			t.Fatalf("%s: nothing at %s", pointer, tok)
		}
	}
	s, ok := node.(string)
	require.True(t, ok, "%s names a string", pointer)
	return s
}

// Every workload kind is found, and patched at its template's image.
func TestWorkloadKinds(t *testing.T) {
	f := newFixture()
	rv := f.reviewer(t)
	containers := map[string]any{"containers": []any{map[string]any{"name": "a", "image": host + "/library/app:v1"}}}
	template := map[string]any{"template": map[string]any{"spec": containers}}
	for _, c := range []struct {
		group, kind string
		obj         map[string]any
		pointer     string
	}{
		{"", "ReplicationController", map[string]any{"spec": template}, "/spec/template/spec/containers/0/image"},
		{"", "PodTemplate", template, "/template/spec/containers/0/image"},
		{"apps", "StatefulSet", map[string]any{"spec": template}, "/spec/template/spec/containers/0/image"},
		{"apps", "DaemonSet", map[string]any{"spec": template}, "/spec/template/spec/containers/0/image"},
		{"apps", "ReplicaSet", map[string]any{"spec": template}, "/spec/template/spec/containers/0/image"},
		{"batch", "Job", map[string]any{"spec": template}, "/spec/template/spec/containers/0/image"},
	} {
		kind := metav1.GroupVersionKind{Group: c.group, Version: "v1", Kind: c.kind}
		resp := post(t, rv.Mutate(), reviewOf(t, admissionv1.Create, kind, c.obj, nil))
		require.True(t, resp.Allowed, c.kind)
		assert.JSONEq(t, `[{"op":"replace","path":"`+c.pointer+`","value":"`+host+`/library/app:v1@`+f.good.String()+`"}]`,
			string(resp.Patch), c.kind)
		patched := applyPatch(t, mustJSON(t, c.obj), resp.Patch)
		assert.Contains(t, string(patched), "app:v1@"+f.good.String(), c.kind)
	}
	rc := map[string]any{"spec": map[string]any{"replicas": 0}}
	resp := post(t, rv.Validate(), reviewOf(t, admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "ReplicationController"}, rc, nil))
	assert.True(t, resp.Allowed, "a controller without a template has no image")
}

// Without pinning, the mutating path decides and patches nothing.
func TestMutateWithoutPinning(t *testing.T) {
	f := newFixture()
	rv, err := New(f.reg, f.reg, []string{host}, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	resp := post(t, rv.Mutate(), reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{host + "/library/app:v1"}, nil), nil))
	assert.True(t, resp.Allowed)
	assert.Empty(t, resp.Patch)
	assert.Nil(t, resp.PatchType)
	resp = post(t, rv.Mutate(), reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{host + "/library/app:unsigned"}, nil), nil))
	assert.False(t, resp.Allowed, "the mutating path refuses what the validating one does")
}
