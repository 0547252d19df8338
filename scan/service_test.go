package scan_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// env is a registry with projects, a job runner and a scan Service wired as
// the reference server wires them.
type env struct {
	db       *sqldb.DB
	svc      *scan.Service
	reg      *registry.Registry
	projects *project.Store
	runner   *jobs.Runner
	srv      *httptest.Server
	host     string
	scanner  *scan.Static
	sink     *sinkProxy
}

type gateProxy struct {
	mu sync.Mutex
	g  registry.PullGate
}

func (p *gateProxy) CheckPull(ctx context.Context, t registry.Target) error {
	p.mu.Lock()
	g := p.g
	p.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.CheckPull(ctx, t)
}

type sinkProxy struct {
	mu sync.Mutex
	s  registry.EventSink
}

// set replaces the sink events go to; nil drops them, as a crash between
// a push and its hand-off would.
func (p *sinkProxy) set(s registry.EventSink) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.s = s
}

func (p *sinkProxy) Emit(ctx context.Context, e registry.Event) {
	p.mu.Lock()
	s := p.s
	p.mu.Unlock()
	if s != nil {
		s.Emit(ctx, e)
	}
}

var testFindings = []scan.Vulnerability{
	{ID: "CVE-2024-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.2", Severity: scan.Critical},
	{ID: "CVE-2024-0002", Package: "zlib", Version: "1.2", Severity: scan.High},
	{ID: "CVE-2024-0003", Package: "bash", Version: "5.1", Severity: scan.Low},
}

func newEnv(t *testing.T, opts ...scan.Option) *env { return newEnvB(t, opts...) }

func newEnvB(t testing.TB, opts ...scan.Option) *env {
	t.Helper()
	ctx := context.Background()
	db, err := scan.DBOpener(t)()
	require.NoError(t, err)
	gp, sp := &gateProxy{}, &sinkProxy{}
	reg, err := registry.New(ctx, memory.New(), db, registry.WithPullGate(gp), registry.WithEventSink(sp))
	require.NoError(t, err)
	ps, err := project.NewStore(ctx, db)
	require.NoError(t, err)
	runner, ws, pool := newRunner(t, db, jobs.WithBackoff(func(int) time.Duration { return 10 * time.Millisecond }),
		jobs.WithStopGrace(2*time.Second))
	st := &scan.Static{Info: scan.ScannerInfo{Name: "static", Vendor: "berth", Version: "1"}, DBVersion: "2025-01-01T00:00:00Z",
		Vulnerabilities: testFindings}
	svc, err := scan.NewService(ctx, db, append([]scan.Option{scan.WithQueue(runner), scan.WithProjects(ps),
		scan.WithRegistry(reg, "scanner"), scan.WithScanner("static", st), scan.WithSBOMGenerator(scan.StaticSBOM{}),
		scan.WithAttempts(2)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	gp.g, sp.s = svc.Gate(), svc.Sink()
	require.NoError(t, runner.Start(ctx))
	srv := httptest.NewServer(reg)
	t.Cleanup(func() {
		srv.Close()
		shutdown(svc, runner, pool, db)
	})
	return &env{db: db, svc: svc, reg: reg, projects: ps, runner: runner, srv: srv,
		host: strings.TrimPrefix(srv.URL, "http://"), scanner: st, sink: sp}
}

// newRunner is a job runner on a pool of its own over db, polling every
// 20 ms, with its workers (to register before it starts); close the pool
// after stopping it.
func newRunner(t testing.TB, db *sqldb.DB, opts ...jobs.Option) (*jobs.Runner, *jobs.Workers, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	pool, err := db.NewPool(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, jobs.Migrate(ctx, pool))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, append([]jobs.Option{jobs.WithWorkers(ws), jobs.WithPollInterval(20 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	return runner, ws, pool
}

// shutdown closes a Service, then its runner, the runner's pool and the
// database, as a process stopping does.
func shutdown(svc *scan.Service, runner *jobs.Runner, pool *sql.DB, db *sqldb.DB) {
	_ = svc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = runner.Stop(ctx)
	_ = pool.Close()
	_ = db.Close()
}

func (e *env) createProject(t *testing.T, name string, md project.Metadata) {
	t.Helper()
	_, err := e.projects.Create(context.Background(), project.Project{Name: name, Metadata: md})
	require.NoError(t, err)
}

// push writes a random image to repo:tag and returns its digest.
func (e *env) push(t *testing.T, repoTag string) digest.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(e.host+"/"+repoTag, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)
	return digest.Digest(d.String())
}

// pull GETs a manifest and returns the status and body.
func (e *env) pull(t *testing.T, repo, ref string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v2/"+repo+"/manifests/"+ref, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitTask(t *testing.T, svc *scan.Service, dg string, kind scan.TaskKind, want scan.TaskStatus) scan.Task {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		tk, ok, err := svc.LatestTask(context.Background(), dg, kind)
		require.NoError(t, err)
		if ok && tk.Status == want {
			return tk
		}
		if time.Now().After(deadline) {
			t.Fatalf("task of %s %q: %+v, want %s", kind, dg, tk, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestScanOnPushGateAndAllowlist(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		e.createProject(t, "app", project.Metadata{AutoScan: true, PreventVulnerable: true, Severity: "high"})
		e.createProject(t, "free", project.Metadata{})

		d := e.push(t, "app/web:1")
		task := waitTask(t, e.svc, d.String(), scan.KindVulnerability, scan.StatusSuccess)
		assert.Equal(t, scan.TriggerPush, task.Trigger)
		assert.Equal(t, scan.BuiltinID, task.Scanner)

		r, info, err := e.svc.Report(ctx, d.String())
		require.NoError(t, err)
		assert.Len(t, r.Vulnerabilities, 3)
		assert.Equal(t, scan.Critical, r.Severity)
		assert.Equal(t, "2025-01-01T00:00:00Z", info.DBVersion)
		assert.Equal(t, 3, info.Summary.Total)
		assert.Equal(t, 1, info.Summary.Fixable)
		assert.Equal(t, 1, info.Summary.Counts[scan.Critical])

		log, err := e.svc.TaskLog(ctx, task.ID)
		require.NoError(t, err)
		assert.Contains(t, log, "done: 3 vulnerabilities (1 fixable), worst Critical")

		// The scanner read through the in-process transport.
		calls := e.scanner.Calls()
		require.Len(t, calls, 1)
		assert.NotNil(t, calls[0].Source.Transport)

		status, body := e.pull(t, "app/web", "1")
		require.Equal(t, http.StatusPreconditionFailed, status, body)
		for _, s := range []string{"2 vulnerabilities", "threshold High", "CVE-2024-0001 (Critical) in openssl 3.0.1", "CVE-2024-0002 (High)", "allowlist"} {
			assert.Contains(t, body, s)
		}
		assert.NotContains(t, body, "CVE-2024-0003")

		// A project allowlist with both CVEs lets the pull through; the gate's
		// cache is invalidated by the write.
		_, err = e.svc.SetAllowlist(ctx, "app", scan.Allowlist{Items: []string{"CVE-2024-0001", "cve-2024-0002"}})
		require.NoError(t, err)
		status, body = e.pull(t, "app/web", "1")
		assert.Equal(t, http.StatusOK, status, body)

		// Reusing the (empty) system allowlist blocks again; filling it passes.
		_, err = e.projects.Update(ctx, "app", func(p *project.Project) error { p.Metadata.ReuseSysCVEAllowlist = true; return nil })
		require.NoError(t, err)
		status, _ = e.pull(t, "app/web", "1")
		assert.Equal(t, http.StatusPreconditionFailed, status)
		_, err = e.svc.SetAllowlist(ctx, "", scan.Allowlist{Items: []string{"CVE-2024-0001", "CVE-2024-0002"}, ExpiresAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		status, _ = e.pull(t, "app/web", "1")
		assert.Equal(t, http.StatusOK, status)

		// An expired allowlist no longer applies.
		_, err = e.svc.SetAllowlist(ctx, "", scan.Allowlist{Items: []string{"CVE-2024-0001", "CVE-2024-0002"}, ExpiresAt: time.Now().Add(-time.Minute)})
		require.NoError(t, err)
		status, _ = e.pull(t, "app/web", "1")
		assert.Equal(t, http.StatusPreconditionFailed, status)

		// A project without the gate and without auto-scan: no scan, no block.
		d2 := e.push(t, "free/web:1")
		status, _ = e.pull(t, "free/web", "1")
		assert.Equal(t, http.StatusOK, status)
		_, found, err := e.svc.LatestTask(ctx, d2.String(), scan.KindVulnerability)
		require.NoError(t, err)
		assert.False(t, found)

		// The in-process transport (scanners, signers) is never gated.
		resp, err := (&http.Client{Transport: e.reg.Transport("scanner")}).Get("http://x/v2/app/web/manifests/1")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

func TestUnscannedAndFailedRules(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		e := newEnv(t, scan.WithRules(scan.Deny, scan.Deny))
		ctx := context.Background()
		e.createProject(t, "strict", project.Metadata{PreventVulnerable: true, Severity: "critical"})
		d := e.push(t, "strict/web:1")
		status, body := e.pull(t, "strict/web", "1")
		assert.Equal(t, http.StatusPreconditionFailed, status)
		assert.Contains(t, body, "not scanned")

		e.scanner.Err = errors.New("database unavailable")
		_, err := e.svc.ScanArtifact(ctx, scan.Artifact{Repository: "strict/web", Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"}, scan.TriggerManual)
		require.NoError(t, err)
		task := waitTask(t, e.svc, d.String(), scan.KindVulnerability, scan.StatusError)
		assert.Contains(t, task.Message, "database unavailable")
		log, err := e.svc.TaskLog(ctx, task.ID)
		require.NoError(t, err)
		assert.Contains(t, log, "attempt 1 of 2")
		assert.Contains(t, log, "will retry")
		assert.Contains(t, log, "attempt 2 of 2")
		status, body = e.pull(t, "strict/web", "1")
		assert.Equal(t, http.StatusPreconditionFailed, status)
		assert.Contains(t, body, "last scan failed")

		e.scanner.Err = nil
		_, err = e.svc.ScanArtifact(ctx, scan.Artifact{Repository: "strict/web", Digest: d}, scan.TriggerManual)
		require.NoError(t, err)
		waitTask(t, e.svc, d.String(), scan.KindVulnerability, scan.StatusSuccess)
		status, body = e.pull(t, "strict/web", "1")
		assert.Equal(t, http.StatusPreconditionFailed, status)
		assert.Contains(t, body, "1 vulnerability at or above the project's severity threshold Critical")
	})
}

// On SQLite only: stopping is tested on both engines by
// TestConcurrentStartsMakeOneTask; what this adds is River's cancel.
func TestStopScan(t *testing.T) {
	started := make(chan struct{}, 1)
	e := newEnv(t)
	e.scanner.Check = func(ctx context.Context, _ scan.Request) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	ctx := context.Background()
	e.createProject(t, "slow", project.Metadata{})
	d := e.push(t, "slow/web:1")
	task, err := e.svc.ScanArtifact(ctx, scan.Artifact{Repository: "slow/web", Digest: d}, scan.TriggerManual)
	require.NoError(t, err)
	again, err := e.svc.ScanArtifact(ctx, scan.Artifact{Repository: "slow/web", Digest: d}, scan.TriggerManual)
	require.NoError(t, err)
	assert.Equal(t, task.ID, again.ID, "a scan in progress is not queued twice")
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the scan did not start")
	}
	stopped, err := e.svc.StopScan(ctx, d.String())
	require.NoError(t, err)
	assert.Equal(t, scan.StatusStopped, stopped.Status)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := e.runner.Status(ctx, task.JobID)
		require.NoError(t, err)
		if st.State == jobs.StateCancelled {
			break
		}
		require.True(t, time.Now().Before(deadline), "job state %s", st.State)
		time.Sleep(20 * time.Millisecond)
	}
	_, err = e.svc.StopScan(ctx, d.String())
	assert.ErrorIs(t, err, scan.ErrNotFound)
	log, err := e.svc.TaskLog(ctx, task.ID)
	require.NoError(t, err)
	assert.Contains(t, log, "stopped on request")
}

func TestScanAllAndSchedule(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		e.createProject(t, "lib", project.Metadata{})
		d1 := e.push(t, "lib/a:1")
		d2 := e.push(t, "lib/b/c:1")
		task, err := e.svc.ScanAll(ctx, scan.TriggerManual)
		require.NoError(t, err)
		waitTask(t, e.svc, "", scan.KindScanAll, scan.StatusSuccess)
		waitTask(t, e.svc, d1.String(), scan.KindVulnerability, scan.StatusSuccess)
		waitTask(t, e.svc, d2.String(), scan.KindVulnerability, scan.StatusSuccess)
		log, err := e.svc.TaskLog(ctx, task.ID)
		require.NoError(t, err)
		assert.Contains(t, log, "queued 2 scans")

		_, err = e.svc.SetScanAllSchedule(ctx, scan.Schedule{Type: "Custom", Cron: "not a cron"})
		assert.ErrorIs(t, err, scan.ErrInvalid)
		sc, err := e.svc.SetScanAllSchedule(ctx, scan.Schedule{Type: scan.ScheduleDaily})
		require.NoError(t, err)
		assert.Equal(t, "0 0 0 * * *", sc.Cron)

		// Every second: a scheduled scan-all runs.
		_, err = e.svc.SetScanAllSchedule(ctx, scan.Schedule{Type: scan.ScheduleCustom, Cron: "* * * * * *"})
		require.NoError(t, err)
		require.NoError(t, e.svc.StartSchedule(ctx))
		deadline := time.Now().Add(15 * time.Second)
		for {
			tk, ok, err := e.svc.LatestTask(ctx, "", scan.KindScanAll)
			require.NoError(t, err)
			if ok && tk.Trigger == scan.TriggerSchedule {
				break
			}
			require.True(t, time.Now().Before(deadline), "no scheduled scan-all")
			time.Sleep(50 * time.Millisecond)
		}
		got, err := e.svc.ScanAllSchedule(ctx)
		require.NoError(t, err)
		assert.Equal(t, scan.ScheduleCustom, got.Type)
		_, err = e.svc.SetScanAllSchedule(ctx, scan.Schedule{Type: scan.ScheduleNone})
		require.NoError(t, err)
	})
}

// On SQLite only: its tasks are written as scans' are (tested on both
// engines); what it tests is the registry's referrers.
func TestSBOMReferrers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createProject(t, "app", project.Metadata{PreventVulnerable: true, Severity: "low", AutoScan: true,
		Extra: map[string]string{scan.AutoSBOMKey: "true"}})
	d := e.push(t, "app/web:1")
	waitTask(t, e.svc, d.String(), scan.KindSBOM, scan.StatusSuccess)

	for _, f := range scan.SBOMFormats {
		resp, err := http.Get(e.srv.URL + "/v2/app/web/referrers/" + d.String() + "?artifactType=" + url.QueryEscape(f))
		require.NoError(t, err)
		var idx struct {
			Manifests []struct {
				Digest       string `json:"digest"`
				ArtifactType string `json:"artifactType"`
			} `json:"manifests"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&idx))
		resp.Body.Close()
		require.Len(t, idx.Manifests, 1, f)
		assert.Equal(t, f, idx.Manifests[0].ArtifactType)

		// The SBOM manifest itself has a subject: never gated, though the
		// image it describes is blocked.
		status, body := e.pull(t, "app/web", idx.Manifests[0].Digest)
		assert.Equal(t, http.StatusOK, status, body)

		b, err := e.svc.FetchSBOM(ctx, scan.Artifact{Repository: "app/web", Digest: d}, f)
		require.NoError(t, err)
		assert.Contains(t, string(b), "app/web@"+d.String())
	}
	waitTask(t, e.svc, d.String(), scan.KindVulnerability, scan.StatusSuccess)
	status, _ := e.pull(t, "app/web", "1")
	assert.Equal(t, http.StatusPreconditionFailed, status)

	_, err := e.svc.FetchSBOM(ctx, scan.Artifact{Repository: "app/web", Digest: digest.FromString("nothing")}, scan.SPDXJSON)
	assert.Error(t, err)
}

func TestScannerRegistrations(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		e := newEnv(t)
		ctx := context.Background()
		regs, err := e.svc.Scanners(ctx)
		require.NoError(t, err)
		require.Len(t, regs, 1)
		assert.True(t, regs[0].Default)
		assert.Equal(t, scan.BuiltinID, regs[0].ID)

		_, err = e.svc.AddScanner(ctx, scan.Registration{Name: "bad", URL: "ftp://x"})
		assert.ErrorIs(t, err, scan.ErrInvalid)
		r, err := e.svc.AddScanner(ctx, scan.Registration{Name: "ext", URL: "http://adapter:8080", Auth: scan.AuthBearer, Credential: "tok"})
		require.NoError(t, err)
		assert.False(t, r.Default, "the built-in scanner stays default")
		assert.Empty(t, r.Credential, "credentials are never shown")
		_, err = e.svc.AddScanner(ctx, scan.Registration{Name: "ext", URL: "http://other"})
		assert.ErrorIs(t, err, scan.ErrExists)

		e.createProject(t, "p1", project.Metadata{})
		e.createProject(t, "p2", project.Metadata{})
		require.NoError(t, e.svc.SetProjectScanner(ctx, "p1", r.ID))
		got, err := e.svc.ProjectScanner(ctx, "p1")
		require.NoError(t, err)
		assert.Equal(t, "ext", got.Name)
		got, err = e.svc.ProjectScanner(ctx, "p2")
		require.NoError(t, err)
		assert.Equal(t, scan.BuiltinID, got.ID)

		require.NoError(t, e.svc.SetDefaultScanner(ctx, r.ID))
		got, err = e.svc.ProjectScanner(ctx, "p2")
		require.NoError(t, err)
		assert.Equal(t, r.ID, got.ID)

		r.Description = "changed"
		r.Credential = ""
		u, err := e.svc.UpdateScanner(ctx, r.ID, r)
		require.NoError(t, err)
		assert.Equal(t, "changed", u.Description)

		require.NoError(t, e.svc.DeleteScanner(ctx, r.ID))
		got, err = e.svc.ProjectScanner(ctx, "p1")
		require.NoError(t, err)
		assert.Equal(t, scan.BuiltinID, got.ID, "back to the default")
		assert.ErrorIs(t, e.svc.DeleteScanner(ctx, scan.BuiltinID), scan.ErrInvalid)
		assert.ErrorIs(t, e.svc.DeleteScanner(ctx, r.ID), scan.ErrNotFound)
	})
}

// On SQLite only: an index's images are queued as ScanArtifact queues
// one (tested on both engines).
func TestScanIndexScansItsImages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createProject(t, "multi", project.Metadata{PreventVulnerable: true, Severity: "critical"})
	idx, err := random.Index(256, 1, 2)
	require.NoError(t, err)
	ref, err := name.ParseReference(e.host+"/multi/app:1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ref, idx))
	d, err := idx.Digest()
	require.NoError(t, err)
	mt, err := idx.MediaType()
	require.NoError(t, err)
	a := scan.Artifact{Repository: "multi/app", Digest: digest.Digest(d.String()), MediaType: string(mt)}

	_, err = e.svc.ScanArtifact(ctx, a, scan.TriggerManual)
	require.ErrorIs(t, err, scan.ErrNotScannable)
	tasks, err := e.svc.ScanImages(ctx, a, scan.TriggerManual)
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	for _, tk := range tasks {
		waitTask(t, e.svc, tk.Artifact.Digest.String(), scan.KindVulnerability, scan.StatusSuccess)
		// Each platform manifest is gated; the index passes (a client
		// fetches the platform manifest by digest next).
		status, _ := e.pull(t, "multi/app", tk.Artifact.Digest.String())
		assert.Equal(t, http.StatusPreconditionFailed, status)
	}
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v2/multi/app/manifests/1", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", string(mt))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// A project's allowlist and scanner choice are keyed by its id: a project
// created again under a deleted one's name starts with neither, whether
// or not the deletion ran the cascade that frees the rows.
func TestProjectSettingsFollowProjectID(t *testing.T) {
	for _, cascade := range []bool{false, true} {
		t.Run(fmt.Sprintf("cascade=%v", cascade), func(t *testing.T) {
			run := func(t *testing.T) {
				e := newEnv(t)
				ctx := context.Background()
				if cascade {
					e.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
						return e.svc.ForgetProject(ctx, tx, p.ID)
					})
				}
				_, err := e.svc.SetAllowlist(ctx, "gone", scan.Allowlist{Items: []string{"CVE-1"}})
				require.ErrorIs(t, err, scan.ErrNotFound, "no settings for a project that does not exist")
				e.createProject(t, "gone", project.Metadata{PreventVulnerable: true})
				_, err = e.svc.SetAllowlist(ctx, "gone", scan.Allowlist{Items: []string{"CVE-1"}})
				require.NoError(t, err)
				r, err := e.svc.AddScanner(ctx, scan.Registration{Name: "x", URL: "http://x"})
				require.NoError(t, err)
				require.NoError(t, e.svc.SetProjectScanner(ctx, "gone", r.ID))
				old, err := e.projects.Get(ctx, "gone")
				require.NoError(t, err)
				pol, err := e.svc.Policy(ctx, old)
				require.NoError(t, err)
				assert.Equal(t, []string{"CVE-1"}, pol.Allowlist.Items, "cached by the gate")

				require.NoError(t, e.projects.Delete(ctx, "gone"))
				e.createProject(t, "gone", project.Metadata{PreventVulnerable: true})
				al, err := e.svc.Allowlist(ctx, "gone")
				require.NoError(t, err)
				assert.Empty(t, al.Items)
				got, err := e.svc.ProjectScanner(ctx, "gone")
				require.NoError(t, err)
				assert.Equal(t, scan.BuiltinID, got.ID)
				again, err := e.projects.Get(ctx, "gone")
				require.NoError(t, err)
				pol, err = e.svc.Policy(ctx, again)
				require.NoError(t, err)
				assert.Empty(t, pol.Allowlist.Items, "the gate's cache is keyed by id too")
			}
			if cascade { // ForgetProject's SQL, on both engines
				scan.OnEngines(t, run)
			} else {
				run(t)
			}
		})
	}
}

func TestPruneKeepsTheNewest(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		e := newEnv(t, scan.WithHistory(time.Nanosecond))
		ctx := context.Background()
		e.createProject(t, "p", project.Metadata{})
		d := e.push(t, "p/a:1")
		a := scan.Artifact{Repository: "p/a", Digest: d}
		first, err := e.svc.ScanArtifact(ctx, a, scan.TriggerManual)
		require.NoError(t, err)
		waitTask(t, e.svc, d.String(), scan.KindVulnerability, scan.StatusSuccess)
		e.scanner.DBVersion = "2025-02-01T00:00:00Z"
		second, err := e.svc.ScanArtifact(ctx, a, scan.TriggerManual)
		require.NoError(t, err)
		require.NotEqual(t, first.ID, second.ID)
		waitTask(t, e.svc, d.String(), scan.KindVulnerability, scan.StatusSuccess)

		time.Sleep(time.Millisecond)
		tasks, reports, err := e.svc.Prune(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(1), tasks)
		assert.Equal(t, int64(1), reports)
		_, err = e.svc.Task(ctx, first.ID)
		assert.ErrorIs(t, err, scan.ErrNotFound)
		_, err = e.svc.Task(ctx, second.ID)
		assert.NoError(t, err)
		_, info, err := e.svc.Report(ctx, d.String())
		require.NoError(t, err)
		assert.Equal(t, "2025-02-01T00:00:00Z", info.DBVersion)
	})
}

// A gated pull costs a project lookup and two cache hits once warm.
func BenchmarkGateCheckPull(b *testing.B) {
	e := newEnvB(b)
	ctx := context.Background()
	_, err := e.projects.Create(ctx, project.Project{Name: "app", Metadata: project.Metadata{PreventVulnerable: true, Severity: "critical"}})
	require.NoError(b, err)
	d := digest.FromString("m")
	_, err = e.svc.SetAllowlist(ctx, "app", scan.Allowlist{Items: []string{"CVE-2024-0001"}})
	require.NoError(b, err)
	g := e.svc.Gate()
	target := registry.Target{Repository: "app/web", Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"}
	require.NoError(b, g.CheckPull(ctx, target))
	b.ReportAllocs()
	for b.Loop() {
		_ = g.CheckPull(ctx, target)
	}
}
