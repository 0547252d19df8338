package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

const adminPassword = "admin-password-1"

// clock is a settable time source shared by the robot store and the API.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is the API over real stores, a real registry and the real
// Gatekeeper, served with the registry (no access checks on /v2/, so
// tests can push) by an httptest server.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	api      *api.API
	gk       *auth.Gatekeeper
	projects *project.Store
	users    *auth.Users
	robots   *auth.Robots
	audit    *audit.Store
	reg      *registry.Registry
	clock    *clock
}

func newEnv(t *testing.T, opts ...api.Option) *env {
	t.Helper()
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	e := &env{t: t, clock: &clock{}}
	e.clock.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())

	// Every change drops the Gatekeeper's cached credentials and policy,
	// as the integrator wires it.
	invalidate := func() {
		if e.gk != nil {
			e.gk.Invalidate()
		}
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.reg, err = registry.New(ctx, memory.New(), db, registry.WithLogger(logger))
	require.NoError(t, err)
	e.projects, err = project.NewStore(ctx, db, project.WithRepositoryCounter(e.reg.CountRepositories),
		project.WithChangeHook(func(context.Context, project.Change) { invalidate() }))
	require.NoError(t, err)
	authHook := auth.WithChangeHook(func(context.Context, auth.Change) { invalidate() })
	e.users, err = auth.NewUsers(ctx, db, authHook,
		auth.WithHashParams(auth.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
	require.NoError(t, err)
	e.robots, err = auth.NewRobots(ctx, db, authHook, auth.WithClock(e.clock.now), auth.WithProjects(e.projects))
	require.NoError(t, err)
	// A project's deletion removes its robots, as the server wires it.
	e.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
		_, err := e.robots.ForgetProject(ctx, tx, p.ID, p.Name)
		return err
	})
	e.audit, err = audit.NewStore(ctx, db, audit.WithProjects(e.projects))
	require.NoError(t, err)
	_, err = e.users.Bootstrap(ctx, "admin", adminPassword)
	require.NoError(t, err)

	key, err := token.GenerateKey()
	require.NoError(t, err)
	tokens, err := token.New("berth", "berth-registry", token.WithSigningKey(key, ""))
	require.NoError(t, err)
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	policy := auth.NewPolicy(api.PolicyLoader(e.projects, e.robots))
	e.gk = auth.NewGatekeeper(e.users, e.robots, e.projects, policy, tokens, e.srv.URL+"/service/token",
		auth.WithGatekeeperLogger(logger))

	opts = append([]api.Option{api.WithVersion("1.2.3"), api.WithRegistryURL(e.host()), api.WithAuditRecorder(e.audit),
		api.WithClock(e.clock.now), api.WithLogger(logger)}, opts...)
	e.api, err = api.New(api.Deps{Projects: e.projects, Users: e.users, Robots: e.robots, Audit: e.audit,
		Registry: e.reg, Access: e.gk}, opts...)
	require.NoError(t, err)
	mux.Handle(api.BasePath+"/", e.api)
	mux.Handle("/v2/", e.reg)
	return e
}

func (e *env) host() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// cred is who sends a request; the zero cred is anonymous.
type cred struct{ user, pass string }

var anonymous = cred{}

func admin() cred { return cred{"admin", adminPassword} }

func password(user string) string { return user + "-password-1" }

// as is the cred of a user made by e.user.
func as(user string) cred { return cred{user, password(user)} }

// user creates local users with password(name).
func (e *env) user(names ...string) {
	e.t.Helper()
	for _, n := range names {
		_, err := e.users.Create(e.t.Context(), auth.User{Name: n}, password(n))
		require.NoError(e.t, err)
	}
}

// project creates a project with members given as "name=role".
func (e *env) project(name string, public bool, members ...string) {
	e.t.Helper()
	var ms []project.Member
	for _, m := range members {
		user, role, _ := strings.Cut(m, "=")
		ms = append(ms, project.Member{Subject: "user:" + user, Role: role})
	}
	_, err := e.projects.Create(e.t.Context(), project.Project{Name: name, Public: public, Owner: "admin"}, ms...)
	require.NoError(e.t, err)
}

// push writes a random image to repo:tag through the registry and returns
// its digest.
func (e *env) push(repo, tag string) string {
	e.t.Helper()
	img, err := random.Image(128, 1)
	require.NoError(e.t, err)
	ref, err := name.NewTag(e.host()+"/"+repo+":"+tag, name.Insecure)
	require.NoError(e.t, err)
	require.NoError(e.t, remote.Write(ref, img, remote.WithContext(e.t.Context())))
	d, err := img.Digest()
	require.NoError(e.t, err)
	return d.String()
}

// response is a fully read answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request under BasePath. body is nil (none), a string (sent
// as is) or a value sent as JSON; either is declared application/json
// unless headers set another Content-Type.
func (e *env) do(who cred, method, path string, body any, headers ...string) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+api.BasePath+path, rd)
	require.NoError(e.t, err)
	if who.user != "" {
		req.SetBasicAuth(who.user, who.pass)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json") // headers may say otherwise
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	require.NotEqual(e.t, http.StatusInternalServerError, resp.StatusCode, "%s %s: %s", method, path, b)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// ok asserts the status and decodes the body into v (if not nil).
func (r *response) ok(t *testing.T, status int, v any) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	if v != nil {
		require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
	}
}

// fails asserts an error answer with its status and code, and returns the
// message.
func (r *response) fails(t *testing.T, status int, code string) string {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	var body api.Errors
	require.NoError(t, json.Unmarshal(r.Body, &body), "body: %s", r.Body)
	require.Len(t, body.Errors, 1)
	require.Equal(t, code, body.Errors[0].Code)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	return body.Errors[0].Message
}

// names extracts a string field from a JSON array body.
func names(t *testing.T, r *response, field string) []string {
	t.Helper()
	var items []map[string]any
	r.ok(t, http.StatusOK, &items)
	out := []string{}
	for _, it := range items {
		s, _ := it[field].(string)
		out = append(out, s)
	}
	return out
}

// slogTo logs text to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// retag points a new tag at the manifest a tag names.
func retag(e *env, repo, from, to string) error {
	src, err := name.NewTag(e.host()+"/"+repo+":"+from, name.Insecure)
	if err != nil {
		return err
	}
	desc, err := remote.Get(src, remote.WithContext(e.t.Context()))
	if err != nil {
		return err
	}
	return remote.Tag(src.Context().Tag(to), desc, remote.WithContext(e.t.Context()))
}

// validateOpenAPI checks an OpenAPI document against the OpenAPI 3.0
// specification with python3's openapi-spec-validator: a missing
// validator fails the test under CI=true and skips it loudly otherwise.
func validateOpenAPI(t *testing.T, doc []byte) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil || exec.Command(python, "-c", "import openapi_spec_validator").Run() != nil {
		msg := "python3 with openapi-spec-validator is not installed"
		if os.Getenv("CI") == "true" {
			t.Fatalf("FAILING (CI=true): %s", msg)
		}
		t.Skipf("\n\n******** SKIPPING: %s ********\n\n", msg)
	}
	path := filepath.Join(t.TempDir(), "openapi.json")
	require.NoError(t, os.WriteFile(path, doc, 0o600))
	out, err := exec.CommandContext(t.Context(), python, "-c",
		"import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
}
