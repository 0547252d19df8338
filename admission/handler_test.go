package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Every network input is hostile: what is not an admission.k8s.io/v1
// review of a decodable object is answered 4xx with a message saying
// what is wrong, and nothing is judged.
func TestHostileRequests(t *testing.T) {
	f := newFixture()
	rv := f.reviewer(t)
	good := reviewOf(t, admissionv1.Create, podKind, pod(nil, []string{host + "/library/app:v1"}, nil), nil)
	for _, c := range []struct {
		name, method, contentType string
		body                      []byte
		status                    int
		message                   string
	}{
		{"not JSON", "POST", "application/json", []byte("{not json"), 400, "not an AdmissionReview"},
		{"trailing data", "POST", "application/json", append(append([]byte{}, good...), []byte(`{}`)...), 400, "data after the JSON object"},
		{"empty", "POST", "application/json", nil, 400, "not an AdmissionReview"},
		{"v1beta1", "POST", "application/json", bytes.Replace(good, []byte(`admission.k8s.io/v1"`), []byte(`admission.k8s.io/v1beta1"`), 1),
			400, `apiVersion "admission.k8s.io/v1beta1"`},
		{"wrong kind", "POST", "application/json", bytes.Replace(good, []byte(`"kind":"AdmissionReview"`), []byte(`"kind":"Pod"`), 1),
			400, `kind "Pod"`},
		{"no request", "POST", "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), 400, "without a request"},
		{"no uid", "POST", "application/json", bytes.Replace(good, []byte(`"uid":"uid-1"`), []byte(`"uid":""`), 1), 400, "without a uid"},
		{"object of another kind", "POST", "application/json",
			reviewOf(t, admissionv1.Create, podKind, map[string]any{"spec": map[string]any{"containers": "nope"}}, nil), 400, "request.object is not a Pod"},
		{"too large", "POST", "application/json", bytes.Repeat([]byte(" "), MaxBody+1), 413, "over 3145728 bytes"},
		{"form", "POST", "application/x-www-form-urlencoded", good, 415, "want application/json"},
		{"GET", "GET", "", nil, 405, "POSTed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(c.method, "/k8s/admission/validate", bytes.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			rv.Validate().ServeHTTP(rec, req)
			assert.Equal(t, c.status, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Body.String(), c.message)
		})
	}
	assert.Zero(t, f.reg.resolves.Load(), "nothing judged")
}

// A huge review of many containers is judged once per distinct image.
func TestManyContainers(t *testing.T) {
	f := newFixture()
	rv := f.reviewer(t)
	images := make([]string, 2000)
	for i := range images {
		images[i] = host + "/library/app:v1"
	}
	resp := post(t, rv.Mutate(), reviewOf(t, admissionv1.Create, podKind, pod(nil, images, nil), nil))
	assert.True(t, resp.Allowed)
	assert.Equal(t, 2000, strings.Count(string(resp.Patch), `"op":"replace"`))
	assert.Equal(t, int64(2), f.reg.resolves.Load(), "one tag and one digest resolved")
}

// A review naming more distinct images than any pod has is refused
// unjudged.
func TestTooManyImages(t *testing.T) {
	f := newFixture()
	images := make([]string, maxImages+1)
	for i := range images {
		images[i] = fmt.Sprintf("%s/library/app:v%d", host, i)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/k8s/admission/validate",
		bytes.NewReader(reviewOf(t, admissionv1.Create, podKind, pod(nil, images, nil), nil)))
	f.reviewer(t).Validate().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "257 distinct images in one object: at most 256 are reviewed")
	assert.Zero(t, f.reg.resolves.Load())
}

// FuzzReview feeds arbitrary bodies to the decoder and the reviewer:
// nothing panics, and an answered review names the request's uid.
func FuzzReview(f *testing.F) {
	fx := newFixture()
	rv := fx.reviewer(f)
	f.Add(reviewOf(f, admissionv1.Create, podKind, pod([]string{"x"}, []string{host + "/library/app:v1"}, []string{"y@sha256:abc"}), nil))
	f.Add(reviewOf(f, admissionv1.Update, deploymentKind, deployment(host+"/library/app:unsigned"), deployment("nginx")))
	f.Add(reviewOf(f, admissionv1.Create, cronJobKind, cronJob(nil, []string{host + "/library/multi:v1"}), nil))
	f.Add(reviewOf(f, admissionv1.Create, metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, map[string]any{"spec": nil}, nil))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"ReplicationController","version":"v1"},"object":{"spec":{}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/k8s/admission/mutate", bytes.NewReader(body))
		rv.Mutate().ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			review, err := ParseReview(body)
			if err != nil {
				t.Fatalf("answered 200 to a body ParseReview refuses: %v", err)
			}
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || string(out.Response.UID) != review.Request.UID {
				t.Fatalf("the answer does not name uid %q: %s", review.Request.UID, rec.Body)
			}
		} else if rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
