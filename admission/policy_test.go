package admission

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berthlabs/berth/registry"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"docker.io/library/*", "docker.io/library/nginx", true},
		{"docker.io/library/*", "docker.io/library/a/b", false},
		{"docker.io/library/*", "docker.io/acme/nginx", false},
		{"ghcr.io/acme/**", "ghcr.io/acme/a/b/c", true},
		{"ghcr.io/acme/**", "ghcr.io/acme", true},
		{"ghcr.io/acme/**", "ghcr.io/acmeco/x", false},
		{"**/nginx", "quay.io/x/nginx", true},
		{"*.example.com/**", "r1.example.com/team/app", true},
		{"*.example.com/**", "example.com/team/app", false},
		{"quay.io/team-[ab]/app", "quay.io/team-b/app", true},
	} {
		assert.Equal(t, c.want, globMatch(c.pattern, c.name), "%s ~ %s", c.pattern, c.name)
	}
}

// Images of other registries: deny wins over allow; the rest follow
// OtherDenied.
func TestOtherRegistries(t *testing.T) {
	f := newFixture()
	rv := f.reviewer(t, WithRules(Rules{Allow: []string{"docker.io/library/*"}, Deny: []string{"docker.io/library/bad*"}, OtherDenied: true}))
	for image, want := range map[string]string{
		"nginx":                         "",
		"docker.io/library/nginx:1.27":  "",
		"index.docker.io/library/nginx": "",
		"docker.io/library/badger:1":    `image docker.io/library/badger:1: denied by the admission rule "docker.io/library/bad*"`,
		"quay.io/team/app:1":            "image quay.io/team/app:1: images of other registries are refused unless an allow rule names them",
		"acme/app:1":                    "image acme/app:1: images of other registries are refused",
	} {
		resp := post(t, rv.Validate(), reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{image}, nil), nil))
		if want == "" {
			assert.True(t, resp.Allowed, image)
			continue
		}
		require.False(t, resp.Allowed, image)
		assert.Contains(t, resp.Result.Message, want)
	}
	assert.Zero(t, f.reg.resolves.Load(), "other registries' images never reach berth")
}

// What is not reviewed is allowed, and says so; a dry run is judged as a
// real request; an update judges only the images it adds.
func TestReviewScope(t *testing.T) {
	f := newFixture()
	rv := f.reviewer(t)
	bad := host + "/library/app:unsigned"
	badPod := pod(nil, []string{bad}, nil)

	for _, op := range []admissionv1.Operation{admissionv1.Delete, admissionv1.Connect} {
		resp := post(t, rv.Validate(), reviewOf(t, op, podKind, nil, badPod))
		assert.True(t, resp.Allowed, op)
		assert.Contains(t, resp.Result.Message, "does not review "+string(op))
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, Data: map[string]string{"image": bad}}
	resp := post(t, rv.Validate(), reviewOf(t, admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, cm, nil))
	assert.True(t, resp.Allowed)
	assert.Contains(t, resp.Result.Message, "does not review ConfigMap")

	var req admissionv1.AdmissionReview
	require.NoError(t, json.Unmarshal(reviewOf(t, admissionv1.Create, podKind, badPod, nil), &req))
	dry := true
	req.Request.DryRun = &dry
	assert.False(t, post(t, rv.Validate(), mustJSON(t, req)).Allowed, "a dry run is judged")

	relabelled := pod(nil, []string{bad}, nil)
	relabelled.Labels = map[string]string{"team": "a"}
	assert.True(t, post(t, rv.Validate(), reviewOf(t, admissionv1.Update, podKind, relabelled, badPod)).Allowed,
		"an update keeping its images is not judged again")
	debug := pod(nil, []string{bad}, []string{host + "/library/app:unsigned-debug", bad})
	resp = post(t, rv.Validate(), reviewOf(t, admissionv1.Update, podKind, debug, badPod))
	assert.False(t, resp.Allowed, "an added ephemeral container is judged")
	assert.Contains(t, resp.Result.Message, "berth refused 1 image(s): image "+host+"/library/app:unsigned-debug: not found")
}

// The gates are asked as Actor, no system actor.
func TestGateActor(t *testing.T) {
	f := newFixture()
	post(t, f.reviewer(t).Validate(), reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{host + "/library/app:v1"}, nil), nil))
	require.NotEmpty(t, f.reg.actors)
	for _, a := range f.reg.actors {
		assert.Equal(t, Actor, a)
		assert.False(t, registry.IsSystemActor(a))
	}
}

// Decisions and digests are reused for the TTL, bounded in number, shared
// by concurrent reviews, and failures are never kept: berth failing to
// answer refuses (fail closed) until it answers again.
func TestCache(t *testing.T) {
	f := newFixture()
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	rv := f.reviewer(t, WithCacheTTL(30*time.Second), WithCacheSize(4), WithClock(clock))
	body := reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{host + "/library/app:v1"}, nil), nil)

	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { assert.True(t, post(t, rv.Validate(), body).Allowed) })
	}
	wg.Wait()
	resolves, checks := f.reg.resolves.Load(), f.reg.checks.Load()
	assert.LessOrEqual(t, resolves, int64(2*2), "concurrent reviews share one resolution (some may start after it ended)")
	assert.LessOrEqual(t, checks, int64(2))
	post(t, rv.Validate(), body)
	assert.Equal(t, resolves, f.reg.resolves.Load(), "cached")
	assert.Equal(t, checks, f.reg.checks.Load(), "cached")

	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	post(t, rv.Validate(), body)
	assert.Equal(t, resolves+2, f.reg.resolves.Load(), "expired: the tag and the digest are resolved again")

	for i := range 10 {
		f.reg.image("team/app", fmt.Sprint(i))
		post(t, rv.Validate(), reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{fmt.Sprintf("%s/team/app:%d", host, i)}, nil), nil))
	}
	assert.Equal(t, 4, rv.digests.len())
	assert.Equal(t, 4, rv.decisions.len())

	f.reg.image("broken/app", "v1")
	f.reg.broken["broken/app"] = true
	broken := reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{host + "/broken/app:v1"}, nil), nil)
	resp := post(t, rv.Validate(), broken)
	require.False(t, resp.Allowed, "fails closed")
	assert.Contains(t, resp.Result.Message, "the registry could not decide: database is down")
	delete(f.reg.broken, "broken/app")
	assert.True(t, post(t, rv.Validate(), broken).Allowed, "the failure was not kept")
}

func TestNewRefusesBadSettings(t *testing.T) {
	f := newFixture()
	for name, c := range map[string]struct {
		hosts []string
		rules Rules
		want  string
	}{
		"no host":     {nil, Rules{}, "no host"},
		"path":        {[]string{"berth.example.com/x"}, Rules{}, "not a host"},
		"bad pattern": {[]string{host}, Rules{Allow: []string{"docker.io/[x"}}, "syntax error in pattern"},
		"empty":       {[]string{host}, Rules{Deny: []string{""}}, "empty image pattern"},
	} {
		_, err := New(f.reg, f.reg, c.hosts, WithRules(c.rules), WithLogger(slog.New(slog.DiscardHandler)))
		assert.ErrorContains(t, err, c.want, name)
	}
}
