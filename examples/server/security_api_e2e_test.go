package main

// End-to-end checks of the management-API findings against the real
// server with auth on: quotas, the member role ceiling, cross-site
// requests, outbound checks that echo or replay, and audit gaps.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

const roleIDProjectAdmin, roleIDGuest = 1, 3

// must requires r's status to be want.
func must(t *testing.T, r response, want int, what string) response {
	t.Helper()
	require.Equal(t, want, r.status, "%s: %s", what, r.body)
	return r
}

// harborMessage is the message of a Harbor-shaped error body.
func harborMessage(t *testing.T, r response) string {
	t.Helper()
	var b api.Errors
	require.NoError(t, json.Unmarshal(r.body, &b), "%s", r.body)
	require.NotEmpty(t, b.Errors)
	return b.Errors[0].Message
}

// startTenants runs a secure server with a private project "alpha" whose
// project admin is alice, and returns alice's credentials.
func startTenants(t *testing.T) (*serverProc, []string) {
	t.Helper()
	s := startSecureServer(t)
	s.createPrivateProject(t, "alpha")
	s.mustAdminAPI(t, http.MethodPost, "/users", api.UserCreationReq{Username: "alice", Password: "alice-password-1",
		Email: "alice@berth.test", Realname: "alice"}, http.StatusCreated)
	s.mustAdminAPI(t, http.MethodPost, "/projects/alpha/members", api.ProjectMember{RoleID: roleIDProjectAdmin,
		MemberUser: &api.UserEntity{Username: "alice"}}, http.StatusCreated)
	return s, basicAuth("alice", "alice-password-1")
}

// Only a system admin sets a project's storage quota.
func TestSecurityProjectAdminCannotRaiseOwnQuota(t *testing.T) {
	s, alice := startTenants(t)
	limit := int64(1 << 40)
	r := must(t, s.apiAs(t, alice, http.MethodPut, "/projects/alpha", api.ProjectReq{StorageLimit: &limit}), http.StatusForbidden, "raise")
	assert.Contains(t, harborMessage(t, r), "only system administrators may set a project's storage_limit")
	mine := false
	must(t, s.apiAs(t, alice, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "mine", Public: &mine, StorageLimit: &limit}),
		http.StatusForbidden, "create with a quota")

	var p api.Project
	require.NoError(t, json.Unmarshal(s.mustAdminAPI(t, http.MethodGet, "/projects/alpha", nil, http.StatusOK).body, &p))
	assert.Equal(t, int64(-1), p.StorageLimit, "unchanged")
	s.mustAdminAPI(t, http.MethodPut, "/projects/alpha", api.ProjectReq{StorageLimit: &limit}, http.StatusOK)
}

// A robot allowed to add members cannot make anyone project admin.
func TestSecurityRobotCannotGrantAboveItsCeiling(t *testing.T) {
	s, alice := startTenants(t)
	s.mustAdminAPI(t, http.MethodPost, "/users", api.UserCreationReq{Username: "mallory", Password: "mallory-password-1",
		Email: "mallory@berth.test", Realname: "mallory"}, http.StatusCreated)
	var bot api.RobotCreated
	r := must(t, s.apiAs(t, alice, http.MethodPost, "/robots", api.RobotCreate{Name: "onboard", Level: "project",
		Permissions: []api.RobotPermission{{Kind: "project", Namespace: "alpha", Access: []api.RobotAccess{
			{Resource: "member", Action: "create"}, {Resource: "member", Action: "update"}}}}}), http.StatusCreated, "robot")
	require.NoError(t, json.Unmarshal(r.body, &bot))
	robot := basicAuth(bot.Name, bot.Secret)

	for _, role := range []int{roleIDProjectAdmin, roleIDGuest} {
		r = must(t, s.apiAs(t, robot, http.MethodPost, "/projects/alpha/members", api.ProjectMember{RoleID: role,
			MemberUser: &api.UserEntity{Username: "mallory"}}), http.StatusForbidden, "grant")
		assert.Contains(t, harborMessage(t, r), "you cannot grant")
	}
	mallory := basicAuth("mallory", "mallory-password-1")
	assert.NotEqual(t, http.StatusOK, s.apiAs(t, mallory, http.MethodGet, "/projects/alpha", nil).status, "mallory gained nothing")
}

// A browser holding Basic credentials cannot be made to change state by
// another site's page.
func TestSecurityCrossSiteRequestsRefused(t *testing.T) {
	s, alice := startTenants(t)
	evil := append([]string{"Origin", "https://evil.example", "Content-Type", "application/json"}, alice...)
	r := must(t, s.do(http.MethodPost, api.BasePath+"/projects", []byte(`{"project_name":"csrf"}`), evil...), http.StatusForbidden, "foreign origin")
	assert.Contains(t, harborMessage(t, r), "cross-site request refused")
	plain := append([]string{"Content-Type", "text/plain"}, alice...)
	must(t, s.do(http.MethodPost, api.BasePath+"/projects", []byte(`{"project_name":"csrf"}`), plain...), http.StatusUnsupportedMediaType, "text/plain")
	form := append([]string{"Sec-Fetch-Site", "cross-site", "Content-Type", "application/x-www-form-urlencoded"}, alice...)
	must(t, s.do(http.MethodDelete, api.BasePath+"/projects/alpha", nil, form...), http.StatusForbidden, "cross-site delete")
	must(t, s.do(http.MethodPost, "/api/chartrepo/alpha/charts", chartArchive(t, "c", "0.1.0"),
		append([]string{"Origin", "https://evil.example"}, alice...)...), http.StatusForbidden, "cross-site chart upload")

	s.mustAdminAPI(t, http.MethodGet, "/projects/csrf", nil, http.StatusNotFound)
	s.mustAdminAPI(t, http.MethodGet, "/projects/alpha", nil, http.StatusOK)
	own := append([]string{"Origin", s.URL, "Content-Type", "application/json"}, alice...)
	must(t, s.do(http.MethodPost, api.BasePath+"/projects", []byte(`{"project_name":"mine"}`), own...), http.StatusCreated, "own origin")
}

// recordingPeer is an HTTP server that answers every request with status
// and body and remembers the Authorization headers it saw.
type recordingPeer struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newRecordingPeer(t *testing.T, status int, body string) *recordingPeer {
	p := &recordingPeer{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.auth = append(p.auth, r.Header.Get("Authorization"))
		p.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *recordingPeer) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.auth...)
}

// Connection checks answer with a status and a reason, never the remote's
// bytes; a stored password never follows its endpoint to a new address.
func TestSecurityOutboundChecksNeitherEchoNorReplay(t *testing.T) {
	s := startSecureServer(t)
	const secret = "INTERNAL-ONLY-7f3a9c"
	leaky := newRecordingPeer(t, http.StatusInternalServerError, "<html>"+secret+"</html>")
	for _, path := range []string{"/registries/ping", "/scanners/ping"} {
		body := map[string]any{"url": leaky.URL, "name": "probe", "type": "docker-registry"}
		r := s.adminAPI(t, http.MethodPost, path, body)
		require.GreaterOrEqual(t, r.status, 400, "%s: %s", path, r.body)
		assert.NotContains(t, string(r.body), secret, path)
		assert.NotContains(t, string(r.body), "<html>", path)
	}

	old := newRecordingPeer(t, http.StatusOK, "{}")
	moved := newRecordingPeer(t, http.StatusOK, "{}")
	r := s.mustAdminAPI(t, http.MethodPost, "/registries", api.Registry{Name: "peer", Type: "docker-registry", URL: old.URL,
		Credential: &api.RegistryCredential{Type: "basic", AccessKey: "svc", AccessSecret: "hunter2-secret"}}, http.StatusCreated)
	id := r.header.Get("Location")[strings.LastIndex(r.header.Get("Location"), "/")+1:]
	r = s.mustAdminAPI(t, http.MethodPut, "/registries/"+id, map[string]any{"url": moved.URL}, http.StatusBadRequest)
	assert.Contains(t, string(r.body), "send its credential again")
	s.mustAdminAPI(t, http.MethodPut, "/registries/"+id, map[string]any{"url": moved.URL,
		"credential": map[string]string{"type": "basic", "access_key": "", "access_secret": ""}}, http.StatusOK)
	s.adminAPI(t, http.MethodPost, "/registries/ping", map[string]any{"id": json.Number(id)})
	for _, a := range moved.seen() {
		assert.NotContains(t, a, "Basic ", "the old password went to the new address")
	}
	require.NotEmpty(t, moved.seen(), "the ping reached the new address")
}

// ecdsaPublicPEM is a fresh P-256 public key, PEM-encoded.
func ecdsaPublicPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// The audit log holds refused pulls and pushes (a gate's 412 among them)
// as failures, failed logins with the client address and the claimed name
// apart from the actor, configuration changes with their actor, and the
// server's own reads under the system's name.
func TestSecurityAuditGapsClosed(t *testing.T) {
	s, alice := startTenants(t)
	s.mustAdminAPI(t, http.MethodPost, "/users", api.UserCreationReq{Username: "gus", Password: "gus-password-1",
		Email: "gus@berth.test", Realname: "gus"}, http.StatusCreated)
	s.mustAdminAPI(t, http.MethodPost, "/projects/alpha/members", api.ProjectMember{RoleID: roleIDGuest,
		MemberUser: &api.UserEntity{Username: "gus"}}, http.StatusCreated)
	gus := basicAuth("gus", "gus-password-1")
	layer, config := randomBytes(256), imageConfig("amd64")
	s.pushBlobAs(t, alice, "alpha/app", layer)
	s.pushBlobAs(t, alice, "alpha/app", config)
	must(t, s.do(http.MethodPut, "/v2/alpha/app/manifests/v1", imageManifest(t, config, layer),
		append([]string{"Content-Type", manifestType}, alice...)...), http.StatusCreated, "push")

	// Refusals: gus may not push (403); content trust blocks his pull (412).
	must(t, s.do(http.MethodPost, "/v2/alpha/app/blobs/uploads/", nil, gus...), http.StatusForbidden, "guest push")
	s.mustAdminAPI(t, http.MethodPost, "/projects/alpha/trust/keys", api.TrustKeyReq{Name: "ci", PEM: ecdsaPublicPEM(t)}, http.StatusCreated)
	s.mustAdminAPI(t, http.MethodPut, "/projects/alpha/trust/policy", api.TrustPolicy{Mode: "any"}, http.StatusOK)
	must(t, s.do(http.MethodGet, "/v2/alpha/app/manifests/v1", nil, append([]string{"Accept", manifestType}, gus...)...),
		http.StatusPreconditionFailed, "unsigned pull")
	// A failed login at the token endpoint.
	q := url.Values{"service": {"berth"}, "scope": {"repository:alpha/app:pull"}}
	must(t, s.do(http.MethodGet, "/service/token?"+q.Encode(), nil, basicAuth("admin", "not-the-password")...),
		http.StatusUnauthorized, "wrong password")

	logs := func(q string) []api.AuditLog {
		t.Helper()
		var out []api.AuditLog
		r := s.mustAdminAPI(t, http.MethodGet, "/audit-logs?page_size=100&q="+url.QueryEscape(q), nil, http.StatusOK)
		require.NoError(t, json.Unmarshal(r.body, &out))
		return out
	}
	var failures []api.AuditLog
	waitFor(t, 15*time.Second, "the refusals are audited", func() bool {
		failures = logs("result=failure")
		return len(failures) >= 3
	})
	byOp := map[string]api.AuditLog{}
	for _, e := range failures {
		byOp[e.Operation+" "+e.Username] = e
	}
	push, ok := byOp["push gus"]
	require.True(t, ok, "refused push: %+v", failures)
	assert.Contains(t, push.Detail, "refused (403)")
	pull, ok := byOp["pull gus"]
	require.True(t, ok, "refused pull: %+v", failures)
	assert.Contains(t, pull.Detail, "refused (412)")
	login, ok := byOp["login-failure anonymous"]
	require.True(t, ok, "failed login: %+v", failures)
	assert.Equal(t, "admin", login.AttemptedUser, "the claimed name, not the actor")
	assert.True(t, strings.HasPrefix(login.RemoteAddr, "127.0.0.1:"), "the client's address: %q", login.RemoteAddr)

	changes := logs("operation=addProjectTrustKey")
	require.Len(t, changes, 1)
	assert.Equal(t, "admin", changes[0].Username)
	assert.Equal(t, "alpha", changes[0].Project)
	require.Len(t, logs("operation=setProjectTrustPolicy,username=admin"), 1)

	for _, e := range logs("actor_kind=system") {
		assert.True(t, strings.HasPrefix(e.Username, "(system"), "system work is filed under the system: %+v", e)
	}
	for _, e := range logs("username=trust") {
		t.Errorf("an entry under a made-up actor: %+v", e)
	}
}
