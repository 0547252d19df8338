package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/internal/s3test"
	"github.com/berthlabs/berth/server"
)

// changeBound is how soon a change made on one node takes effect on the
// others (docs/scale-out.md): PostgreSQL delivers the node's NOTIFY in
// milliseconds; without it, cached credentials would last a minute.
const changeBound = time.Second

// scaleOut is where the nodes of a scale-out installation keep everything.
type scaleOut struct {
	dbURL      string
	s3         *s3test.Server
	secretFile string
}

// newScaleOut starts a PostgreSQL and an S3 server and writes the secret
// key every node shares.
func newScaleOut(t *testing.T) *scaleOut {
	t.Helper()
	pg := pgtest.Start(t)
	so := &scaleOut{dbURL: pg.Database(t), s3: s3test.Start(t), secretFile: filepath.Join(t.TempDir(), "secret.key")}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	require.NoError(t, os.WriteFile(so.secretFile, key, 0o600))
	return so
}

// configure points cfg at the shared database and bucket, with no data
// directory.
func (so *scaleOut) configure(cfg *server.Config) {
	cfg.DataDir = ""
	cfg.SecretKeyFile = so.secretFile
	cfg.Database.URL = so.dbURL
	cfg.Storage.S3 = server.S3Config{Bucket: so.s3.Bucket, Endpoint: so.s3.URL, Region: so.s3.Region,
		AccessKey: so.s3.AccessKey, SecretKey: so.s3.SecretKey, PathStyle: true}
}

// startNodes starts n nodes at once, as an orchestrator would: they
// migrate the database and create the first admin concurrently. The
// first node's address stands for the load balancer in front of them
// all: every node's external URL, so every node's tokens name it.
func (so *scaleOut) startNodes(t *testing.T, n int, mod func(*server.Config)) []*authApp {
	t.Helper()
	nodes := make([]*authApp, n)
	errs := make([]error, n)
	listeners := make([]*httptest.Server, n)
	for i := range listeners {
		listeners[i] = httptest.NewUnstartedServer(nil)
	}
	external := "http://" + listeners[0].Listener.Addr().String()
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			srv := listeners[i]
			host := srv.Listener.Addr().String()
			cfg := server.DefaultConfig()
			cfg.ExternalURL, cfg.AdminPassword, cfg.Trivy.Enabled = external, e2eAdminPassword, false
			so.configure(&cfg)
			if mod != nil {
				mod(&cfg)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			a, err := server.New(context.Background(), cfg, server.WithLogger(log))
			if err != nil {
				srv.Close()
				errs[i] = err
				return
			}
			srv.Config.Handler = a.Handler()
			srv.Start()
			t.Cleanup(func() {
				srv.Close()
				_ = a.Close(context.Background())
			})
			nodes[i] = &authApp{Server: a, srv: srv, host: host}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err, "a node did not start")
	}
	return nodes
}

// Three nodes over one PostgreSQL and one bucket, each with a disk cache of
// hot blobs: what one node writes, the others serve; a project, a role and a robot changed on one node
// take effect on the others within changeBound.
func TestScaleOutNodesShareOneTruth(t *testing.T) {
	so := newScaleOut(t)
	nodes := so.startNodes(t, 3, func(cfg *server.Config) {
		cfg.Storage.S3.CacheDir, cfg.Storage.S3.CacheMaxBytes = t.TempDir(), 64<<20 // each node's own
	})
	a, b, c := nodes[0], nodes[1], nodes[2]

	// An image pushed through A is pulled, byte-identical, through B and C.
	e2eCreateProject(t, a, "team", false)
	dgst := e2ePushRandom(t, a, "team/app:v1")
	// (Requests by hand: clients refuse a token realm on a private address
	// other than the registry's, and A stands for the load balancer.)
	tok, _ := e2eToken(t, a, "admin", e2eAdminPassword, "repository:team/app:pull")
	bearer := []string{"Authorization", "Bearer " + tok, "Accept", manifestType}
	for _, n := range []*authApp{b, c} {
		r := e2eDo(t, n, "", "", http.MethodGet, "/v2/team/app/manifests/v1", nil, bearer...)
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		assert.Equal(t, dgst.String(), digest.FromBytes(r.body).String())
		var m v1.Manifest
		require.NoError(t, json.Unmarshal(r.body, &m))
		for _, l := range append(m.Layers, m.Config) {
			r := e2eDo(t, n, "", "", http.MethodGet, "/v2/team/app/blobs/"+l.Digest.String(), nil, bearer...)
			require.Equal(t, http.StatusOK, r.status, "%s", r)
			assert.Equal(t, l.Digest, digest.FromBytes(r.body), "byte-identical through another node")
		}
	}

	// A project created on A exists on B (no cache in the way).
	e2eCreateProject(t, a, "fresh", true)
	e2eAdmin(t, b, http.MethodGet, "/projects/fresh", nil, http.StatusOK)

	// A role changed on A: B's next token carries it. B's cached view of
	// alice's credentials and of the policy is warmed first.
	e2eCreateUser(t, a, "alice", "Alice-password-1")
	e2eAddUserMember(t, a, "team", "alice", 3) // guest: pull
	_, granted := e2eToken(t, b, "alice", "Alice-password-1", "repository:team/app:pull,push")
	require.ElementsMatch(t, []string{"pull"}, granted)
	members := e2eJSON[[]api.ProjectMemberEntity](t, e2eAdmin(t, a, http.MethodGet, "/projects/team/members", nil, http.StatusOK))
	var mid string
	for _, m := range members {
		if m.EntityName == "alice" {
			mid = strconv.FormatInt(m.ID, 10)
		}
	}
	require.NotEmpty(t, mid)
	e2eAdmin(t, a, http.MethodPut, "/projects/team/members/"+mid, api.RoleRequest{RoleID: 2}, http.StatusOK) // developer
	changed := time.Now()
	require.Eventually(t, func() bool {
		_, granted := e2eToken(t, b, "alice", "Alice-password-1", "repository:team/app:pull,push")
		return len(granted) == 2
	}, changeBound, 10*time.Millisecond, "the new role reaches node B")
	t.Logf("role change reached node B after %v", time.Since(changed))

	// A robot disabled on A is refused by C, whose credential cache held
	// it a moment before.
	r := e2eAdmin(t, a, http.MethodPost, "/robots", api.RobotCreate{Name: "ci", Level: "project",
		Permissions: []api.RobotPermission{{Kind: "project", Namespace: "team",
			Access: []api.RobotAccess{{Resource: "repository", Action: "pull"}}}}}, http.StatusCreated)
	robot := e2eJSON[api.RobotCreated](t, r)
	e2eToken(t, c, robot.Name, robot.Secret, "repository:team/app:pull")
	e2eAdmin(t, a, http.MethodPut, "/robots/"+robot.Name, map[string]any{"disable": true}, http.StatusOK)
	changed = time.Now()
	require.Eventually(t, func() bool {
		r := e2eDo(t, c, robot.Name, robot.Secret, http.MethodGet, "/service/token?service=berth&scope=repository:team/app:pull", nil)
		return r.status == http.StatusUnauthorized
	}, changeBound, 10*time.Millisecond, "the disabled robot is refused on node C")
	t.Logf("robot disabled reached node C after %v", time.Since(changed))

	// A token one node signed is accepted by another (shared keys).
	tok, _ = e2eToken(t, b, "admin", e2eAdminPassword, "repository:team/app:pull")
	r = e2eDo(t, c, "", "", http.MethodGet, "/v2/team/app/tags/list", nil, "Authorization", "Bearer "+tok)
	assert.Equal(t, http.StatusOK, r.status, "%s", r)
}

// A schedule set on one node is followed by every node's cron, and each
// tick starts one run across them: after the node that set it is gone,
// the others still fire it, and no tick ever has two runs.
func TestScaleOutScheduleFiresOnce(t *testing.T) {
	so := newScaleOut(t)
	nodes := so.startNodes(t, 3, nil)
	a, b := nodes[0], nodes[1]
	every := &api.ScheduleObj{Type: "Custom", Cron: "*/2 * * * * *"}
	e2eAdmin(t, a, http.MethodPut, "/system/gc/schedule", api.ExecSchedule{Schedule: every}, http.StatusOK)
	a.srv.Close()
	require.NoError(t, a.Close(context.Background()))

	scheduled := func() []api.ExecHistory {
		var out []api.ExecHistory
		for _, h := range e2eJSON[[]api.ExecHistory](t, e2eAdmin(t, b, http.MethodGet, "/system/gc?page_size=100", nil, http.StatusOK)) {
			if h.JobKind == "SCHEDULE" {
				out = append(out, h)
			}
		}
		return out
	}
	closed := time.Now()
	require.Eventually(t, func() bool { return len(scheduled()) >= 3 }, 30*time.Second, 200*time.Millisecond,
		"the remaining nodes fire the schedule set on the closed one")
	e2eAdmin(t, b, http.MethodPut, "/system/gc/schedule", api.ExecSchedule{Schedule: &api.ScheduleObj{Type: "None"}}, http.StatusOK)
	runs := scheduled()
	ticks := map[int64]bool{}
	for _, h := range runs {
		tick := h.CreationTime.Unix()
		assert.False(t, ticks[tick], "two runs for the tick at %v", h.CreationTime)
		ticks[tick] = true
	}
	elapsed := time.Since(closed)
	assert.LessOrEqual(t, len(runs), int(elapsed/(2*time.Second))+2, "at most one run per tick")
	t.Logf("%d scheduled runs in %v after the first node closed", len(runs), elapsed.Round(time.Millisecond))
}

// An embedded installation moved into PostgreSQL and S3 (server
// migrate-to) serves the same users, projects, robots and images from a
// scale-out node; new rows get new ids; the check finds the store whole.
func TestMigrateToScaleOut(t *testing.T) {
	var dir string
	a := startE2EApp(t, func(cfg *server.Config) { dir = cfg.DataDir })
	e2eCreateUser(t, a, "alice", "Alice-password-1")
	e2eCreateProject(t, a, "team", false)
	e2eAddUserMember(t, a, "team", "alice", 2)
	dgst := e2ePushRandom(t, a, "team/app:v1")
	robot := e2eJSON[api.RobotCreated](t, e2eAdmin(t, a, http.MethodPost, "/robots", api.RobotCreate{Name: "ci", Level: "project",
		Permissions: []api.RobotPermission{{Kind: "project", Namespace: "team",
			Access: []api.RobotAccess{{Resource: "repository", Action: "pull"}}}}}, http.StatusCreated))
	team := e2eJSON[api.Project](t, e2eAdmin(t, a, http.MethodGet, "/projects/team", nil, http.StatusOK))
	a.srv.Close()
	require.NoError(t, a.Close(context.Background()))

	so := newScaleOut(t)
	so.secretFile = filepath.Join(dir, "secret.key") // what the source sealed with
	cfg := server.DefaultConfig()
	cfg.AdminPassword, cfg.Trivy.Enabled = "another-password-1", false
	so.configure(&cfg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rep, err := server.MigrateTo(t.Context(), dir, cfg, log)
	require.NoError(t, err)
	t.Logf("moved %d tables, %d rows, %d blobs; skipped %v", rep.Tables, rep.Rows, rep.Blobs, rep.Skipped)
	assert.Positive(t, rep.Blobs)
	_, err = server.MigrateTo(t.Context(), dir, cfg, log)
	assert.ErrorContains(t, err, "not empty", "never merged into a used database")

	var out strings.Builder
	ok, err := server.Check(t.Context(), cfg, false, &out, log)
	require.NoError(t, err)
	assert.True(t, ok, "%s", out.String())

	n := so.startNodes(t, 1, nil)[0]
	// The source's admin password, not the target's configured one: the
	// accounts came along.
	moved := e2eJSON[api.Project](t, e2eAdmin(t, n, http.MethodGet, "/projects/team", nil, http.StatusOK))
	assert.Equal(t, team.ProjectID, moved.ProjectID, "the project keeps its id")
	_, granted := e2eToken(t, n, "alice", "Alice-password-1", "repository:team/app:pull,push")
	assert.ElementsMatch(t, []string{"pull", "push"}, granted, "alice is still a developer")
	tok, _ := e2eToken(t, n, robot.Name, robot.Secret, "repository:team/app:pull")
	r := e2eDo(t, n, "", "", http.MethodGet, "/v2/team/app/manifests/v1", nil, "Authorization", "Bearer "+tok, "Accept", v1.MediaTypeImageManifest)
	require.Equal(t, http.StatusOK, r.status, "%s", r)
	assert.Equal(t, dgst.String(), digest.FromBytes(r.body).String())
	var m v1.Manifest
	require.NoError(t, json.Unmarshal(r.body, &m))
	for _, l := range append(m.Layers, m.Config) {
		r := e2eDo(t, n, "", "", http.MethodGet, "/v2/team/app/blobs/"+l.Digest.String(), nil, "Authorization", "Bearer "+tok)
		require.Equal(t, http.StatusOK, r.status, "%s", r)
		assert.Equal(t, l.Digest, digest.FromBytes(r.body))
	}
	e2eCreateProject(t, n, "fresh", false)
	fresh := e2eJSON[api.Project](t, e2eAdmin(t, n, http.MethodGet, "/projects/fresh", nil, http.StatusOK))
	assert.Greater(t, fresh.ProjectID, team.ProjectID, "new ids come after the moved ones")
}
