package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/berthlabs/berth/trust"
)

// admissionServer is an assembled server with the webhook on, holding
// images in three projects: "library" (no policy), "signed" (content
// trust: a cosign signature by the trust store's key) and "vuln" (the
// vulnerability gate at High, every image scanned with a Critical
// finding).
type admissionServer struct {
	t      *testing.T
	srv    *server.Server
	hs     *httptest.Server
	host   string
	key    *ecdsa.PrivateKey
	admin  remote.Option
	pushed map[string]digest.Digest
}

const admissionAdminPassword = "admin-password-1"

func startAdmissionServer(t *testing.T) *admissionServer {
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	s := &admissionServer{t: t, hs: hs, host: hs.Listener.Addr().String(), pushed: map[string]digest.Digest{},
		admin: remote.WithAuth(&authn.Basic{Username: "admin", Password: admissionAdminPassword})}
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", admissionAdminPassword, "http://"+s.host
	cfg.Replication.Enabled, cfg.Charts.Enabled, cfg.Retention.Enabled, cfg.Webhooks.Enabled = false, false, false, false
	cfg.Admission = server.AdmissionConfig{Enabled: true, Mutate: true, Registries: []string{"berth.berth.svc:5000"},
		Allow: []string{"docker.io/library/*"}, Deny: []string{"docker.io/library/bad*"}, OtherRegistries: "deny",
		CacheTTL: time.Minute}
	scanner := &scan.Static{Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2024-1111", Package: "openssl", Version: "3.0.11", FixVersion: "3.0.12", Severity: scan.Critical}}}
	s.srv, err = server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		server.WithBuiltinScanner(func(context.Context, *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
			return "static", scanner, nil, nil
		}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.srv.Close(context.Background()) })
	hs.Config.Handler = s.srv.Handler()
	hs.Start()
	t.Cleanup(hs.Close)

	s.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(s.key.Public())
	require.NoError(t, err)
	s.api(http.MethodPost, "/trust/keys", map[string]string{"name": "release",
		"pem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, http.StatusCreated)
	s.api(http.MethodPost, "/projects", map[string]any{"project_name": "signed",
		"metadata": map[string]string{"content_trust": "cosign", "public": "true"}}, http.StatusCreated)
	s.api(http.MethodPost, "/projects", map[string]any{"project_name": "vuln",
		"metadata": map[string]string{"auto_scan": "true", "prevent_vul": "true", "severity": "high", "public": "true"}}, http.StatusCreated)
	return s
}

// api calls the management API as the admin and checks the status.
func (s *admissionServer) api(method, path string, body any, want int) []byte {
	s.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(s.t, err)
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.hs.URL+"/api/v2.0"+path, bytes.NewReader(b))
	require.NoError(s.t, err)
	req.SetBasicAuth("admin", admissionAdminPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(s.t, want, resp.StatusCode, "%s %s: %s", method, path, out)
	return out
}

// push pushes a random image as repo:tag and remembers its digest.
func (s *admissionServer) push(repoTag string) digest.Digest {
	s.t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(s.t, err)
	ref, err := name.NewTag(s.host+"/"+repoTag, name.Insecure)
	require.NoError(s.t, err)
	require.NoError(s.t, remote.Write(ref, img, s.admin))
	d, err := img.Digest()
	require.NoError(s.t, err)
	s.pushed[repoTag] = digest.Digest(d.String())
	return s.pushed[repoTag]
}

// sign signs repo@d with the trust store's key, as cosign sign does.
func (s *admissionServer) sign(repo string, d digest.Digest) {
	s.t.Helper()
	c := trust.Registry(s.srv.Registry().Transport(registry.SystemActor("test signer")), "http://berth.internal")
	_, err := trust.SignCosign(s.t.Context(), c, trust.Subject{Repository: repo, Digest: d}, s.key,
		trust.CosignOptions{Identity: s.host + "/" + repo})
	require.NoError(s.t, err)
}

// pullRefusal pulls repoTag anonymously and returns the message of the
// registry's refusal.
func (s *admissionServer) pullRefusal(repoTag string) string {
	s.t.Helper()
	ref, err := name.NewTag(s.host+"/"+repoTag, name.Insecure)
	require.NoError(s.t, err)
	_, err = remote.Get(ref, remote.WithContext(s.t.Context()))
	var te *transport.Error
	require.ErrorAs(s.t, err, &te, "the pull of %s is refused", repoTag)
	require.Equal(s.t, http.StatusPreconditionFailed, te.StatusCode)
	require.NotEmpty(s.t, te.Errors)
	return te.Errors[0].Message
}

// review POSTs an AdmissionReview of obj to path, with no credentials.
func (s *admissionServer) review(path string, op admissionv1.Operation, kind metav1.GroupVersionKind, obj any) *admissionv1.AdmissionResponse {
	s.t.Helper()
	raw, err := json.Marshal(obj)
	require.NoError(s.t, err)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "review-1", Kind: kind, Operation: op, Namespace: "apps",
			Object: runtime.RawExtension{Raw: raw}}})
	require.NoError(s.t, err)
	resp, err := http.Post(s.hs.URL+path+"?timeout=10s", "application/json", bytes.NewReader(body))
	require.NoError(s.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "%s", out)
	var review admissionv1.AdmissionReview
	require.NoError(s.t, json.Unmarshal(out, &review))
	require.NotNil(s.t, review.Response)
	require.Equal(s.t, "review-1", string(review.Response.UID))
	return review.Response
}

func podOf(init, containers, ephemeral []string) *corev1.Pod {
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "app"}}
	for _, img := range init {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init", Image: img})
	}
	for _, img := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "app", Image: img})
	}
	for _, img := range ephemeral {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers,
			corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: img}})
	}
	return p
}

// TestAdmissionWebhook runs real admission.k8s.io/v1 reviews against an
// assembled server: berth's images are refused for the reasons berth
// refuses their pulls (no signature under content trust, a Critical
// vulnerability above the project's threshold), unknown ones are
// refused, other registries follow the allow and deny lists, and the
// mutating path pins tags to the digests judged with a JSON Patch the
// API server can apply.
func TestAdmissionWebhook(t *testing.T) {
	s := startAdmissionServer(t)
	plain := s.push("library/plain:v1")
	signed := s.push("signed/app:v1")
	s.sign("signed/app", signed)
	unsigned := s.push("signed/app:unsigned")
	vulnerable := s.push("vuln/app:v1")
	require.Eventually(t, func() bool {
		var reports map[string]json.RawMessage
		_ = json.Unmarshal(s.api(http.MethodGet, "/projects/vuln/repositories/app/artifacts/"+vulnerable.String()+
			"/additions/vulnerabilities", nil, http.StatusOK), &reports)
		return len(reports) == 1
	}, 30*time.Second, 20*time.Millisecond, "scan on push")

	h := s.host
	pod := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	deploymentKind := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	cronJobKind := metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}
	deployment := func(images ...string) *appsv1.Deployment {
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}}
		d.Spec.Template.Spec = podOf(nil, images, nil).Spec
		return d
	}
	cronJob := func(init, images []string) *batchv1.CronJob {
		c := &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}}
		c.Spec.Schedule = "@daily"
		c.Spec.JobTemplate.Spec.Template.Spec = podOf(init, images, nil).Spec
		return c
	}
	// The reasons are those berth gives an anonymous client pulling the
	// images (the projects are public): the decision a node would meet.
	trustReason, vulnReason := s.pullRefusal("signed/app:unsigned"), s.pullRefusal("vuln/app:v1")
	assert.Contains(t, trustReason, "is not signed by a trusted signer with a cosign signature")
	assert.Contains(t, vulnReason, `refused by project "vuln"'s vulnerability policy`)
	for _, c := range []struct {
		name    string
		kind    metav1.GroupVersionKind
		obj     any
		refused []string          // substrings of the refusal; none: allowed
		pinned  map[string]string // JSON pointer → image after the mutating path's patch
	}{
		{name: "pod, plain image by tag", kind: pod, obj: podOf(nil, []string{h + "/library/plain:v1"}, nil),
			pinned: map[string]string{"/spec/containers/0/image": h + "/library/plain:v1@" + plain.String()}},
		{name: "pod, signed image", kind: pod, obj: podOf(nil, []string{h + "/signed/app:v1"}, nil),
			pinned: map[string]string{"/spec/containers/0/image": h + "/signed/app:v1@" + signed.String()}},
		{name: "pod, by digest", kind: pod, obj: podOf(nil, []string{h + "/signed/app@" + signed.String()}, nil)},
		{name: "pod, unsigned", kind: pod, obj: podOf(nil, []string{h + "/signed/app:unsigned"}, nil),
			refused: []string{"image " + h + "/signed/app:unsigned (" + unsigned.String() + "): ", trustReason}},
		{name: "pod, unsigned by digest", kind: pod, obj: podOf(nil, []string{h + "/signed/app@" + unsigned.String()}, nil),
			refused: []string{trustReason}},
		{name: "pod, vulnerable", kind: pod, obj: podOf(nil, []string{h + "/vuln/app:v1"}, nil),
			refused: []string{"image " + h + "/vuln/app:v1 (" + vulnerable.String() + "): " + vulnReason, "CVE-2024-1111"}},
		{name: "init and ephemeral containers", kind: pod,
			obj: podOf([]string{h + "/library/plain:v1"}, []string{"nginx:1.27"}, []string{"berth.berth.svc:5000/signed/app:v1"}),
			pinned: map[string]string{
				"/spec/initContainers/0/image":      h + "/library/plain:v1@" + plain.String(),
				"/spec/containers/0/image":          "nginx:1.27",
				"/spec/ephemeralContainers/0/image": "berth.berth.svc:5000/signed/app:v1@" + signed.String()}},
		{name: "refused ephemeral container", kind: pod, obj: podOf(nil, []string{h + "/library/plain:v1"}, []string{h + "/vuln/app:v1"}),
			refused: []string{vulnReason}},
		{name: "deployment", kind: deploymentKind, obj: deployment(h+"/library/plain:v1", h+"/signed/app:v1"),
			pinned: map[string]string{"/spec/template/spec/containers/1/image": h + "/signed/app:v1@" + signed.String()}},
		{name: "deployment, both refusals listed", kind: deploymentKind, obj: deployment(h+"/signed/app:unsigned", h+"/vuln/app:v1"),
			refused: []string{"berth refused 2 image(s): image " + h + "/signed/app:unsigned", trustReason, vulnReason}},
		{name: "cronjob", kind: cronJobKind, obj: cronJob([]string{h + "/signed/app:v1"}, []string{"docker.io/library/busybox:1"}),
			pinned: map[string]string{"/spec/jobTemplate/spec/template/spec/initContainers/0/image": h + "/signed/app:v1@" + signed.String()}},
		{name: "cronjob, unsigned init container", kind: cronJobKind, obj: cronJob([]string{h + "/signed/app:unsigned"}, nil),
			refused: []string{trustReason}},
		{name: "unknown tag", kind: pod, obj: podOf(nil, []string{h + "/library/plain:v2"}, nil),
			refused: []string{"image " + h + "/library/plain:v2: not found in this registry"}},
		{name: "other registry allowed", kind: pod, obj: podOf(nil, []string{"nginx", "docker.io/library/redis:7"}, nil)},
		{name: "other registry denied", kind: pod, obj: podOf(nil, []string{"docker.io/library/badimage:1"}, nil),
			refused: []string{`denied by the admission rule "docker.io/library/bad*"`}},
		{name: "other registry unlisted", kind: pod, obj: podOf(nil, []string{"ghcr.io/someone/tool:1"}, nil),
			refused: []string{"images of other registries are refused unless an allow rule names them"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			validated := s.review("/k8s/admission/validate", admissionv1.Create, c.kind, c.obj)
			mutated := s.review("/k8s/admission/mutate", admissionv1.Create, c.kind, c.obj)
			for _, resp := range []*admissionv1.AdmissionResponse{validated, mutated} {
				if len(c.refused) == 0 {
					require.True(t, resp.Allowed, "%+v", resp.Result)
					continue
				}
				require.False(t, resp.Allowed)
				assert.Equal(t, int32(http.StatusForbidden), resp.Result.Code)
				for _, want := range c.refused {
					assert.Contains(t, resp.Result.Message, want)
				}
			}
			assert.Empty(t, validated.Patch)
			if len(c.pinned) == 0 || len(c.refused) > 0 {
				assert.Empty(t, mutated.Patch, "%s", mutated.Patch)
				return
			}
			require.Equal(t, admissionv1.PatchTypeJSONPatch, *mutated.PatchType)
			patch, err := jsonpatch.DecodePatch(mutated.Patch)
			require.NoError(t, err)
			raw, err := json.Marshal(c.obj)
			require.NoError(t, err)
			patched, err := patch.Apply(raw)
			require.NoError(t, err, "%s", mutated.Patch)
			got := imagesByPointer(t, c.kind, patched)
			for pointer, want := range c.pinned {
				assert.Equal(t, want, got[pointer], pointer)
			}
		})
	}
}

// imagesByPointer decodes a patched object strictly into its Kubernetes
// type and lists its images by JSON pointer.
func imagesByPointer(t *testing.T, kind metav1.GroupVersionKind, raw []byte) map[string]string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var spec *corev1.PodSpec
	var prefix string
	switch kind.Kind {
	case "Pod":
		var p corev1.Pod
		require.NoError(t, dec.Decode(&p))
		spec, prefix = &p.Spec, "/spec"
	case "Deployment":
		var d appsv1.Deployment
		require.NoError(t, dec.Decode(&d))
		spec, prefix = &d.Spec.Template.Spec, "/spec/template/spec"
	case "CronJob":
		var c batchv1.CronJob
		require.NoError(t, dec.Decode(&c))
		spec, prefix = &c.Spec.JobTemplate.Spec.Template.Spec, "/spec/jobTemplate/spec/template/spec"
	}
	require.NotNil(t, spec, kind.Kind)
	out := map[string]string{}
	for i, c := range spec.InitContainers {
		out[prefix+"/initContainers/"+strconv.Itoa(i)+"/image"] = c.Image
	}
	for i, c := range spec.Containers {
		out[prefix+"/containers/"+strconv.Itoa(i)+"/image"] = c.Image
	}
	for i, c := range spec.EphemeralContainers {
		out[prefix+"/ephemeralContainers/"+strconv.Itoa(i)+"/image"] = c.Image
	}
	return out
}

// The webhook's settings come from the file, the environment and flags
// under the keys the Helm chart renders.
func TestAdmissionConfig(t *testing.T) {
	file := writeFile(t, `
admission:
  enabled: true
  registries: [berth.berth.svc:5000]
  allow: ["docker.io/library/*", "ghcr.io/acme/**"]
  deny: ["docker.io/library/bad*"]
  other_registries: deny
  cache_ttl: 10s
`)
	cfg, err := load(t, []string{"-config", file, "-admission-mutate"}, []string{"BERTH_ADMISSION_CACHE_TTL=5s"})
	require.NoError(t, err)
	assert.Equal(t, server.AdmissionConfig{Enabled: true, Mutate: true, Registries: []string{"berth.berth.svc:5000"},
		Allow: []string{"docker.io/library/*", "ghcr.io/acme/**"}, Deny: []string{"docker.io/library/bad*"},
		OtherRegistries: "deny", CacheTTL: 5 * time.Second}, cfg.Admission)
	cfg, err = load(t, []string{"-admission=false"}, nil)
	require.NoError(t, err)
	assert.Equal(t, server.AdmissionConfig{OtherRegistries: "allow", CacheTTL: 30 * time.Second}, cfg.Admission, "the defaults")
}

// Off, the webhook's paths are not served; misconfigured, the server does
// not start.
func TestAdmissionOffAndMisconfigured(t *testing.T) {
	start := func(edit func(*server.Config)) (*server.Server, error) {
		db, err := sqldb.OpenSQLiteMemory(t.Context())
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		cfg := server.DefaultConfig()
		cfg.DataDir, cfg.Auth, cfg.ExternalURL = "", false, "https://berth.example.com:443"
		edit(&cfg)
		srv, err := server.New(t.Context(), cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
			server.WithLogger(slog.New(slog.DiscardHandler)))
		if srv != nil {
			t.Cleanup(func() { _ = srv.Close(context.Background()) })
		}
		return srv, err
	}
	srv, err := start(func(*server.Config) {})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/k8s/admission/validate", bytes.NewReader([]byte("{}"))))
	assert.Equal(t, http.StatusNotFound, rec.Code)

	_, err = start(func(c *server.Config) { c.Admission.Enabled, c.Admission.OtherRegistries = true, "maybe" })
	assert.ErrorContains(t, err, `admission.other_registries: "maybe": want allow or deny`)
	_, err = start(func(c *server.Config) { c.Admission.Enabled, c.Admission.Allow = true, []string{"docker.io/[x"} })
	assert.ErrorContains(t, err, "docker.io/[x")

	// On, with auth off too, and an external URL on the default port: its
	// images are written without the port.
	srv, err = start(func(c *server.Config) { c.Admission.Enabled = true })
	require.NoError(t, err)
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	ref, err := name.NewTag("berth.example.com/team/app:v1")
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithTransport(srv.Registry().Transport("test"))))
	raw, err := json.Marshal(podOf(nil, []string{"berth.example.com/team/app:v1", "berth.example.com:443/team/app:v2"}, nil))
	require.NoError(t, err)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}})
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/k8s/admission/validate", bytes.NewReader(body)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var review admissionv1.AdmissionReview
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &review))
	assert.False(t, review.Response.Allowed)
	assert.Equal(t, "berth refused 1 image(s): image berth.example.com:443/team/app:v2: not found in this registry: manifest team/app:v2: not found",
		review.Response.Result.Message, "v1 is found under either name")
}
