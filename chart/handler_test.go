package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/berthlabs/berth/rbac"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/provenance"
)

func multipartBody(t testing.TB, parts map[string][]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, b := range parts {
		w, err := mw.CreateFormFile(name, name+".bin")
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

func TestHandlerChartMuseumAPI(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		r, _ := newRepo(t)
		srv := serve(t, r, AllowAll)
		api := srv.URL + "/api/chartrepo/library/charts"
		archive := makeChart(t, "nginx", "1.0.0")

		resp, body := do(t, "POST", api, "application/octet-stream", archive)
		require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
		assert.JSONEq(t, `{"saved":true}`, string(body))

		resp, body = do(t, "POST", api, "application/octet-stream", archive)
		assert.Equal(t, http.StatusConflict, resp.StatusCode)
		var e map[string]string
		require.NoError(t, json.Unmarshal(body, &e))
		assert.Contains(t, e["error"], "already exists")

		resp, _ = do(t, "POST", api+"?force", "application/octet-stream", archive)
		assert.Equal(t, http.StatusCreated, resp.StatusCode)

		mp, ctype := multipartBody(t, map[string][]byte{"chart": makeChart(t, "nginx", "1.1.0")})
		resp, body = do(t, "POST", api, ctype, mp)
		require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))

		resp, body = do(t, "GET", api, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var all map[string][]map[string]any
		require.NoError(t, json.Unmarshal(body, &all))
		require.Len(t, all["nginx"], 2)
		assert.Equal(t, "1.1.0", all["nginx"][0]["version"])

		resp, body = do(t, "GET", api+"/nginx", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var vs []map[string]any
		require.NoError(t, json.Unmarshal(body, &vs))
		assert.Len(t, vs, 2)

		resp, body = do(t, "GET", api+"/nginx/1.0.0", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var one map[string]any
		require.NoError(t, json.Unmarshal(body, &one))
		assert.Equal(t, "nginx", one["name"])

		resp, body = do(t, "GET", srv.URL+"/chartrepo/library/charts/nginx-1.0.0.tgz", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, archive, body)
		resp, _ = do(t, "GET", srv.URL+"/chartrepo/library/charts/nginx-1.0.0.tgz.prov", "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)

		resp, body = do(t, "GET", srv.URL+"/chartrepo/library/index.yaml", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Len(t, parseIndex(t, body).Entries["nginx"], 2)
		etag := resp.Header.Get("ETag")
		req, _ := http.NewRequest("GET", srv.URL+"/chartrepo/library/index.yaml", nil)
		req.Header.Set("If-None-Match", etag)
		nm, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		nm.Body.Close()
		assert.Equal(t, http.StatusNotModified, nm.StatusCode)

		resp, body = do(t, "DELETE", api+"/nginx/1.0.0", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.JSONEq(t, `{"deleted":true}`, string(body))
		resp, _ = do(t, "DELETE", api+"/nginx/1.0.0", "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = do(t, "GET", api+"/nginx/1.0.0", "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = do(t, "GET", srv.URL+"/chartrepo/library/charts/nginx-1.0.0.tgz", "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

// On SQLite only: routing, above SQL.
func TestHandlerFileNamesWithDashes(t *testing.T) {
	r, _ := newRepo(t)
	srv := serve(t, r, AllowAll)
	archive := makeChart(t, "my-app", "1.0.0-rc-1")
	resp, body := do(t, "POST", srv.URL+"/api/chartrepo/p/charts", "", archive)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))
	resp, body = do(t, "GET", srv.URL+"/chartrepo/p/charts/my-app-1.0.0-rc-1.tgz", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, archive, body)
}

// On SQLite only: refused before anything is stored.
func TestHandlerBadUploads(t *testing.T) {
	r, blobs := newRepo(t, WithMaxArchiveSize(1<<20))
	srv := serve(t, r, AllowAll)
	api := srv.URL + "/api/chartrepo/p/charts"
	resp, _ := do(t, "POST", api, "", makeChart(t, "ok", "1.0.0"))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	_, before := do(t, "GET", srv.URL+"/chartrepo/p/index.yaml", "", nil)

	huge := bytes.Repeat([]byte{0x1f}, 3<<20)
	mpHuge, mpCtype := multipartBody(t, map[string][]byte{"chart": huge})
	for _, tc := range []struct {
		name   string
		ctype  string
		body   []byte
		status int
	}{
		{"corrupt gzip", "", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3}, http.StatusBadRequest},
		{"parent path", "", tgz(t, entry{name: "x/Chart.yaml", body: chartYAML("x", "1.0.0")}, entry{name: "x/../../y", body: "y"}), http.StatusBadRequest},
		{"missing Chart.yaml", "", tgz(t, entry{name: "x/values.yaml", body: "a: 1\n"}), http.StatusBadRequest},
		{"duplicate", "", makeChart(t, "ok", "1.0.0"), http.StatusConflict},
		{"over the limit raw", "", huge, http.StatusRequestEntityTooLarge},
		{"over the limit multipart", mpCtype, mpHuge, http.StatusRequestEntityTooLarge},
		{"multipart without chart", "multipart/form-data; boundary=zzz", []byte("--zzz--\r\n"), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, "POST", api, tc.ctype, tc.body)
			assert.Equal(t, tc.status, resp.StatusCode, string(body))
			var e map[string]string
			require.NoError(t, json.Unmarshal(body, &e))
			assert.NotEmpty(t, e["error"])
			_, after := do(t, "GET", srv.URL+"/chartrepo/p/index.yaml", "", nil)
			assert.Equal(t, before, after)
			assert.Equal(t, 1, blobCount(t, blobs))
		})
	}
}

// TestHandlerDefaultLimit sends an archive just over the default 20 MiB.
// On SQLite only: refused before anything is stored.
func TestHandlerDefaultLimit(t *testing.T) {
	r, blobs := newRepo(t)
	srv := serve(t, r, AllowAll)
	resp, body := do(t, "POST", srv.URL+"/api/chartrepo/p/charts", "", make([]byte, DefaultMaxArchiveSize+1))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(body))
	assert.Equal(t, 0, blobCount(t, blobs))
}

// rbacAccess builds RBACAccess over a real RBAC engine; the caller names
// itself in the X-User header (anonymous without it).
func rbacAccess(t *testing.T) Access {
	t.Helper()
	e, err := rbac.New(rbac.Policy{
		Projects: []rbac.Project{{Name: "private"}, {Name: "public", Public: true}},
		Bindings: []rbac.Binding{
			{Subject: "user:guest", Project: "private", Role: rbac.Guest},
			{Subject: "user:dev", Project: "private", Role: rbac.Developer},
			{Subject: "user:maint", Project: "private", Role: rbac.Maintainer},
			{Subject: "user:dev", Project: "public", Role: rbac.Developer},
		},
	}, rbac.WithPublicPermissions(
		rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPull},
		rbac.Permission{Resource: rbac.ResourceHelmChart, Action: rbac.ActionRead},
		rbac.Permission{Resource: rbac.ResourceHelmChart, Action: rbac.ActionList},
	))
	require.NoError(t, err)
	principal := func(r *http.Request) (rbac.Principal, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return rbac.Principal{Kind: rbac.User, Name: u}, nil
		}
		return rbac.Principal{}, nil
	}
	decide := func(_ context.Context, p rbac.Principal, project, repo string, perm rbac.Permission) (rbac.Decision, error) {
		return e.Decide(p, project, repo, perm), nil
	}
	return RBACAccess(principal, decide)
}

// On SQLite only: access decisions, above SQL.
func TestHandlerRBAC(t *testing.T) {
	r, _ := newRepo(t)
	srv := serve(t, r, rbacAccess(t))
	call := func(user, method, path string, body []byte) int {
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		require.NoError(t, err)
		if user != "" {
			req.Header.Set("X-User", user)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
		}
		return resp.StatusCode
	}
	a := makeChart(t, "app", "1.0.0")
	assert.Equal(t, 401, call("", "POST", "/api/chartrepo/private/charts", a))
	assert.Equal(t, 403, call("guest", "POST", "/api/chartrepo/private/charts", a))
	assert.Equal(t, 201, call("dev", "POST", "/api/chartrepo/private/charts", a))
	assert.Equal(t, 201, call("dev", "POST", "/api/chartrepo/public/charts", a))

	assert.Equal(t, 401, call("", "GET", "/chartrepo/private/index.yaml", nil))
	assert.Equal(t, 200, call("guest", "GET", "/chartrepo/private/index.yaml", nil))
	assert.Equal(t, 200, call("guest", "GET", "/chartrepo/private/charts/app-1.0.0.tgz", nil))
	assert.Equal(t, 200, call("", "GET", "/chartrepo/public/index.yaml", nil))
	assert.Equal(t, 200, call("", "GET", "/chartrepo/public/charts/app-1.0.0.tgz", nil))
	assert.Equal(t, 200, call("", "GET", "/api/chartrepo/public/charts", nil))
	assert.Equal(t, 401, call("", "POST", "/api/chartrepo/public/charts", a))

	assert.Equal(t, 403, call("dev", "DELETE", "/api/chartrepo/private/charts/app/1.0.0", nil))
	assert.Equal(t, 403, call("guest", "DELETE", "/api/chartrepo/private/charts/app/1.0.0", nil))
	assert.Equal(t, 200, call("maint", "DELETE", "/api/chartrepo/private/charts/app/1.0.0", nil))
	assert.Equal(t, 403, call("stranger", "GET", "/chartrepo/private/index.yaml", nil))
}

// signer makes an OpenPGP key and writes its public keyring; it returns a
// Signatory that can sign and the keyring path.
func signer(t testing.TB) (*provenance.Signatory, string) {
	t.Helper()
	e, err := openpgp.NewEntity("berth test", "", "test@example.com", nil)
	require.NoError(t, err)
	var pub bytes.Buffer
	require.NoError(t, e.Serialize(&pub))
	ring := filepath.Join(t.TempDir(), "pubring.gpg")
	require.NoError(t, os.WriteFile(ring, pub.Bytes(), 0o600))
	return &provenance.Signatory{Entity: e, KeyRing: openpgp.EntityList{e}}, ring
}

// signed packages a chart as name-version.tgz and clear-signs it.
func signed(t testing.TB, s *provenance.Signatory, name, version string) (archive []byte, prov []byte, path string) {
	t.Helper()
	archive = makeChart(t, name, version)
	path = filepath.Join(t.TempDir(), name+"-"+version+".tgz")
	require.NoError(t, os.WriteFile(path, archive, 0o644))
	sig, err := s.ClearSign(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+".prov", []byte(sig), 0o644))
	return archive, []byte(sig), path
}

func TestProvenance(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		s, ring := signer(t)
		r, _ := newRepo(t, WithKeyring(ring))
		archive, prov, _ := signed(t, s, "signed", "1.0.0")

		v, err := r.Upload(ctx, "p", bytes.NewReader(archive), bytes.NewReader(prov), false)
		require.NoError(t, err)
		assert.NotEmpty(t, v.ProvDigest)

		// A .prov for other bytes does not verify.
		_, otherProv, _ := signed(t, s, "signed", "1.0.1")
		tampered := tgz(t, entry{name: "signed/Chart.yaml", body: chartYAML("signed", "1.0.1") + "deprecated: true\n"})
		_, err = r.Upload(ctx, "p", bytes.NewReader(tampered), bytes.NewReader(otherProv), false)
		require.ErrorIs(t, err, ErrInvalidProvenance)

		// A .prov signed by an unknown key does not verify.
		stranger, _ := signer(t)
		a2, p2, _ := signed(t, stranger, "signed", "1.0.2")
		_, err = r.Upload(ctx, "p", bytes.NewReader(a2), bytes.NewReader(p2), false)
		require.ErrorIs(t, err, ErrInvalidProvenance)
		vs, err := r.Versions(ctx, "p", "signed")
		require.NoError(t, err)
		assert.Len(t, vs, 1, "refused uploads left nothing behind")

		srv := serve(t, r, AllowAll)
		resp, body := do(t, "GET", srv.URL+"/chartrepo/p/charts/signed-1.0.0.tgz.prov", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, prov, body)

		mp, ctype := multipartBody(t, map[string][]byte{"chart": a2, "prov": p2})
		resp, body = do(t, "POST", srv.URL+"/api/chartrepo/p/charts", ctype, mp)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.True(t, strings.Contains(string(body), "provenance"), string(body))
	})
}
