package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berthlabs/berth/internal/testlog"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// With admission.addr the webhook answers on its own listener only: the
// main listener (the one an ingress publishes) does not serve /k8s/.
func TestAdmissionOnItsOwnListener(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Auth, cfg.ExternalURL = "", false, "http://berth.example.com"
	cfg.Admission.Enabled, cfg.Admission.Addr = true, "127.0.0.1:0"
	logs := &testlog.Buffer{}
	srv, err := server.New(t.Context(), cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	listening := regexp.MustCompile(`msg="admission webhook listening" addr=(\S+)`)
	var addr string
	require.Eventually(t, func() bool {
		m := listening.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 5*time.Second, 10*time.Millisecond, "the admission listener's address in the log")

	raw, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod",
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "docker.io/library/nginx:1"}}}})
	require.NoError(t, err)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "u1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}}})
	require.NoError(t, err)

	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/k8s/admission/validate", bytes.NewReader(body)))
	assert.Equal(t, http.StatusNotFound, rec.Code, "not on the main listener")

	for _, path := range []string{"/k8s/admission/validate", "/k8s/admission/mutate"} {
		resp, err := http.Post("http://"+addr+path, "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		var review admissionv1.AdmissionReview
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&review))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.NotNil(t, review.Response, path)
		assert.Equal(t, "u1", string(review.Response.UID), path)
		assert.True(t, review.Response.Allowed, "%s: other registries are allowed by default", path)
	}
	resp, err := http.Get("http://" + addr + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the admission listener serves nothing else")
}

// A webhook address that cannot be listened on fails Serve, loudly.
func TestAdmissionListenerFailureFailsServe(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Auth, cfg.ExternalURL = "", false, "http://berth.example.com"
	cfg.Admission.Enabled, cfg.Admission.Addr = true, taken.Addr().String()
	srv, err := server.New(t.Context(), cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	err = srv.Serve(t.Context(), ln)
	require.ErrorContains(t, err, "admission.addr")
}
