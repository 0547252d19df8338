package main

// The identity-overhead benchmark (issue 3): manifest GET req/s of the berth
// server with token auth + RBAC on against the same server with access
// checks off, plus clients that send Basic credentials on every request.

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	authProject     = "bench"
	authRepo        = authProject + "/app"
	authAdmin       = "admin" // auth.DefaultAdminName, created from BERTH_ADMIN_PASSWORD
	authPullScope   = "repository:" + authRepo + ":pull"
	authMaxOverhead = 15.0 // percent
)

// authVariant is one column of the identity-overhead table.
type authVariant int

const (
	varOff authVariant = iota
	varToken
	varBasic
	numVariants
)

func (v authVariant) mode() authMode { return [...]authMode{authNone, authToken, authBasic}[v] }
func (v authVariant) key() string    { return [...]string{"off", "token", "basic"}[v] }
func (v authVariant) title() string {
	return [...]string{"auth off", "token auth + RBAC", "basic auth + RBAC"}[v]
}

// authRun is one variant's timed window in one round.
type authRun struct {
	get          latStats
	serverCPUus  float64 // server CPU time per GET
	clientCPUus  float64 // this program's CPU time per GET
	otherPct     float64 // other processes' CPU, % of all cores
	tokenFetches int64   // tokens fetched inside the timed window
}

// authReport holds every round's runs; rounds[i][v] is variant v in round i.
type authReport struct {
	cfg       *config
	bins      *binaries
	rounds    [][numVariants]*authRun
	orders    [][]authVariant
	setupNote string
	profiles  []string
	loadStart string
	loadEnd   string
}

// authData is what every server gets: one config, one layer and distinct
// manifests pushed by tag.
type authData struct {
	config, layer             []byte
	configDigest, layerDigest string
	manifests                 []manifest
	tags                      []string
}

func newAuthData(n int, runID string) *authData {
	d := &authData{layer: fill(seedLayer+100, 4096)}
	d.layerDigest = digestOf(d.layer)
	d.config = fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%q]},"config":{"Labels":{"org.berthlabs.bench.run":%q}}}`,
		d.layerDigest, runID+"-auth")
	d.configDigest = digestOf(d.config)
	for i := range n {
		b := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},`+
			`"layers":[{"mediaType":%q,"digest":%q,"size":%d}],"annotations":{"org.berthlabs.bench.run":%q,"org.berthlabs.bench.index":"auth-%d"}}`,
			mtOCIManifest, mtOCIConfig, d.configDigest, len(d.config), mtOCILayer, d.layerDigest, len(d.layer), runID, i)
		d.manifests = append(d.manifests, manifest{body: b, digest: digestOf(b)})
		d.tags = append(d.tags, fmt.Sprintf("t%d", i))
	}
	return d
}

type authBench struct {
	cfg  *config
	bins *binaries
	tmp  string
	data *authData
	rep  *authReport
	logf func(string, ...any)
}

// runAuthOverhead runs cfg.rounds rounds; each starts berth with auth off
// and with auth on, one at a time (which first alternates per round).
func runAuthOverhead(ctx context.Context, cfg *config, bins *binaries, tmp, runID string, logf func(string, ...any)) (*authReport, error) {
	if bins.berth == "" || bins.standin {
		return nil, fmt.Errorf("the identity-overhead benchmark needs the berth server")
	}
	if cfg.authProfileDir != "" {
		if err := os.MkdirAll(cfg.authProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	b := &authBench{cfg: cfg, bins: bins, tmp: tmp, data: newAuthData(cfg.authManifests, runID),
		rep:  &authReport{cfg: cfg, bins: bins, loadStart: loadAvg()},
		logf: func(format string, a ...any) { logf("[auth] "+format, a...) }}
	for round := range cfg.rounds {
		var runs [numVariants]*authRun
		var order []authVariant
		onVariants := []authVariant{varToken, varBasic}
		if round%2 == 1 {
			slices.Reverse(onVariants)
		}
		servers := []bool{false, true}
		if round%2 == 1 {
			slices.Reverse(servers)
		}
		for _, on := range servers {
			vs := []authVariant{varOff}
			if on {
				vs = onVariants
			}
			if cfg.rounds > 1 {
				b.logf("round %d/%d: server with -auth=%v", round+1, cfg.rounds, on)
			}
			res, err := b.server(ctx, on, round, vs)
			if err != nil {
				return nil, err
			}
			for _, v := range vs {
				runs[v] = res[v]
			}
			order = append(order, vs...)
		}
		b.rep.rounds = append(b.rep.rounds, runs)
		b.rep.orders = append(b.rep.orders, order)
	}
	b.rep.loadEnd = loadAvg()
	return b.rep, nil
}

// withAuthFlag returns args without any -auth flag, plus -auth=<on>.
func withAuthFlag(args []string, on bool) []string {
	out := slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		return a == "auth" || strings.HasPrefix(a, "auth=")
	})
	return append(out, fmt.Sprintf("-auth=%v", on))
}

// server starts one berth on a fresh data dir, prepares it and measures vs.
func (b *authBench) server(ctx context.Context, on bool, round int, vs []authVariant) (res map[authVariant]*authRun, err error) {
	name := map[bool]string{false: "berth-auth-off", true: "berth-auth-on"}[on]
	dir, err := os.MkdirTemp(b.tmp, name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	password := ""
	opts := peerOptions{berthArgs: withAuthFlag(b.cfg.berthArgs, on), authOn: on}
	if on {
		password = rand.Text()
		opts.env = []string{"BERTH_ADMIN_PASSWORD=" + password}
	}
	if b.cfg.authProfileDir != "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		opts.debugAddr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	p, err := startPeerWith(ctx, name, b.bins, dir, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := p.stop(); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			err = fmt.Errorf("%s: %w\n--- %s log tail ---\n%s", name, err, name, p.logTail())
		}
	}()
	b.logf("%s started pid %d at %s (%s)", name, p.pid(), p.base, strings.Join(opts.berthArgs, " "))
	if err := b.setup(ctx, p, on, password); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	res = map[authVariant]*authRun{}
	for _, v := range vs {
		if res[v], err = b.measure(ctx, p, v, password, round, opts.debugAddr); err != nil {
			return nil, fmt.Errorf("%s: %w", v.title(), err)
		}
	}
	return res, p.alive()
}

// setup creates the private project (auth on), pushes the blobs and the
// manifests (as admin through the token flow when auth is on), reads every
// manifest back and checks that anonymous access is refused (auth on) or
// served (auth off).
func (b *authBench) setup(ctx context.Context, p *peer, on bool, password string) error {
	c := newClient(p.base, b.cfg)
	defer c.close()
	d, rt := b.data, b.cfg.reqTimeout
	if on {
		// The /v2/ ping must challenge anonymous clients.
		if err := c.do(ctx, rt, newReq(http.MethodGet, p.base+"/v2/", nil, 0), http.StatusUnauthorized, checkBearerChallenge("")); err != nil {
			return fmt.Errorf("anonymous ping: %w", err)
		}
		body := fmt.Appendf(nil, `{"project_name":%q,"public":false}`, authProject)
		req := newReq(http.MethodPost, p.base+"/api/v2.0/projects", bytes.NewReader(body), int64(len(body)), "Content-Type", "application/json")
		req.SetBasicAuth(authAdmin, password)
		if err := c.do(ctx, rt, req, http.StatusCreated, nil); err != nil {
			return fmt.Errorf("creating project %s: %w", authProject, err)
		}
	}
	pc := c
	if on {
		pc = c.withCredentials(newCredentials(authToken, authAdmin, password))
	}
	if err := pc.pushMonolithic(ctx, authRepo, d.configDigest, bytes.NewReader(d.config), int64(len(d.config))); err != nil {
		return err
	}
	if err := pc.pushMonolithic(ctx, authRepo, d.layerDigest, bytes.NewReader(d.layer), int64(len(d.layer))); err != nil {
		return err
	}
	for i := range d.manifests {
		if err := pc.putManifest(ctx, authRepo, d.tags[i], &d.manifests[i]); err != nil {
			return err
		}
	}
	for i := range d.manifests {
		if err := pc.getManifestURL(ctx, manifestURL(p.base, d.tags[i]), &d.manifests[i]); err != nil {
			return err
		}
	}
	pushed := fmt.Sprintf("pushed config, layer and %d manifests to %s", len(d.manifests), authRepo)
	u := manifestURL(p.base, d.tags[0])
	if !on {
		if err := c.getManifestURL(ctx, u, &d.manifests[0]); err != nil {
			return fmt.Errorf("anonymous GET with auth off: %w", err)
		}
		b.logf("%s; anonymous GET served (auth is off)", pushed)
		return nil
	}
	if err := c.do(ctx, rt, newReq(http.MethodGet, u, nil, 0, "Accept", manifestAccept), http.StatusUnauthorized, checkBearerChallenge(authPullScope)); err != nil {
		return fmt.Errorf("anonymous manifest GET with auth on: %w", err)
	}
	wrong := c.withCredentials(newCredentials(authBasic, authAdmin, password+"x"))
	if err := wrong.do(ctx, rt, newReq(http.MethodGet, u, nil, 0, "Accept", manifestAccept), http.StatusUnauthorized, nil); err != nil {
		return fmt.Errorf("manifest GET with a wrong Basic password: %w", err)
	}
	note := fmt.Sprintf("%s as admin via the token flow (%d tokens fetched); anonymous GET → 401 Bearer challenge, wrong Basic password → 401",
		pushed, pc.auth.fetches.Load())
	b.logf("%s", note)
	b.rep.setupNote = note
	return nil
}

// checkBearerChallenge checks a 401's WWW-Authenticate: a Bearer challenge
// with a realm and, if scope is not "", that scope.
func checkBearerChallenge(scope string) func(*http.Response) error {
	return func(r *http.Response) error {
		h := r.Header.Get("WWW-Authenticate")
		scheme, params := parseChallenge(h)
		if !strings.EqualFold(scheme, "Bearer") || params["realm"] == "" || params["service"] == "" {
			return fmt.Errorf("want a Bearer challenge with realm and service, got WWW-Authenticate %q", h)
		}
		if scope != "" && params["scope"] != scope {
			return fmt.Errorf("challenge scope %q, want %q", params["scope"], scope)
		}
		return nil
	}
}

func manifestURL(base, tag string) string { return base + "/v2/" + authRepo + "/manifests/" + tag }

// getManifestURL GETs a manifest and requires 200, a body with the
// expected digest and a matching Docker-Content-Digest header.
func (c *client) getManifestURL(ctx context.Context, u string, m *manifest) error {
	req := newReq(http.MethodGet, u, nil, 0, "Accept", manifestAccept)
	return c.do(ctx, c.reqTimeout, req, http.StatusOK, func(r *http.Response) error {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return err
		}
		if got := digestOf(b); got != m.digest {
			return fmt.Errorf("manifest digest %s, want %s", got, m.digest)
		}
		if got := r.Header.Get("Docker-Content-Digest"); got != m.digest {
			return fmt.Errorf("Docker-Content-Digest %q, want %s", got, m.digest)
		}
		return nil
	})
}

// measure runs the concurrent manifest GET workload: cfg.concurrency
// clients sharing one connection pool, each with its own credentials and
// token cache. Each first does one untimed GET (a token client gets its
// token there, answering the 401 challenge), then the timed window runs.
// Every GET must return 200 with the right digest; failures are counted
// and fail the run.
func (b *authBench) measure(ctx context.Context, p *peer, v authVariant, password string, round int, debugAddr string) (*authRun, error) {
	cfg, d := b.cfg, b.data
	shared := newClient(p.base, cfg)
	defer shared.close()
	k, n := cfg.concurrency, int64(len(d.manifests))
	clients := make([]*client, k)
	for i := range clients {
		clients[i] = shared
		if v.mode() != authNone {
			clients[i] = shared.withCredentials(newCredentials(v.mode(), authAdmin, password))
		}
	}
	urls := make([]string, n)
	for i := range urls {
		urls[i] = manifestURL(p.base, d.tags[i])
	}
	fetches := func() (sum int64) {
		for _, c := range clients {
			if c.auth != nil {
				sum += c.auth.fetches.Load()
			}
		}
		return sum
	}
	// Warm-up: one GET per client, concurrently.
	var wg sync.WaitGroup
	werrs := make([]error, k)
	for i, c := range clients {
		wg.Go(func() { werrs[i] = c.getManifestURL(ctx, urls[int64(i)%n], &d.manifests[int64(i)%n]) })
	}
	wg.Wait()
	if err := firstError(werrs); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	for _, c := range clients {
		if c.auth != nil && c.auth.mode == authToken && c.auth.fetches.Load() != 1 {
			return nil, fmt.Errorf("a token client fetched %d tokens during warm-up, want 1", c.auth.fetches.Load())
		}
	}
	warm := fetches()
	syscall.Sync() // flush the setup's writes before the window
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(200 * time.Millisecond):
	}
	if err := p.alive(); err != nil {
		return nil, err
	}

	var prof chan error
	if debugAddr != "" {
		path := filepath.Join(cfg.authProfileDir, fmt.Sprintf("cpu-%s-round%d.pprof", v.key(), round+1))
		prof = make(chan error, 1)
		go func() { prof <- fetchProfile(ctx, debugAddr, cfg.getDuration, path) }()
		b.rep.profiles = append(b.rep.profiles, path)
	}
	before, err := takeCPUSnap(p.pid())
	if err != nil {
		return nil, err
	}
	var (
		failed   atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	stats, err := runWorkerOps(ctx, k, cfg.getMax, cfg.getDuration, func(ctx context.Context, w int, i int64) error {
		j := i % n
		if err := clients[w].getManifestURL(ctx, urls[j], &d.manifests[j]); err != nil {
			failed.Add(1)
			errOnce.Do(func() { firstErr = err })
		}
		return nil
	})
	after, serr := takeCPUSnap(p.pid())
	if prof != nil {
		if perr := <-prof; perr != nil {
			b.logf("warning: CPU profile: %v", perr)
		}
	}
	if err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("%d of %d GETs failed; first: %w", f, stats.n, firstErr)
	}
	r := &authRun{get: stats, tokenFetches: fetches() - warm}
	wall := after.at.Sub(before.at).Seconds()
	server, self := after.server-before.server, after.self-before.self
	r.serverCPUus = server / float64(stats.n) * 1e6
	r.clientCPUus = self / float64(stats.n) * 1e6
	r.otherPct = 100 * max(0, (after.machine-before.machine)-server-self) / (wall * float64(runtime.NumCPU()))
	b.logf("%s: manifest GET, %d clients for %s: %s; server %.0f µs CPU/GET, client %.0f µs CPU/GET, others %.0f%% CPU, %d token fetches in window",
		v.title(), k, cfg.getDuration, stats, r.serverCPUus, r.clientCPUus, r.otherPct, r.tokenFetches)
	return r, nil
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fetchProfile saves the server's CPU profile over dur (whole seconds,
// at least 1) from its -debug-addr pprof endpoint.
func fetchProfile(ctx context.Context, addr string, dur time.Duration, path string) error {
	secs := max(1, int(math.Round(dur.Seconds())))
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return os.WriteFile(path, body, 0o644)
}

// overheads are variant v's per-round req/s overheads vs auth off, in %.
func (r *authReport) overheads(v authVariant, m func(*authRun) float64) []float64 {
	var out []float64
	for _, runs := range r.rounds {
		if off, on := m(runs[varOff]), m(runs[v]); off > 0 {
			out = append(out, 100*(1-on/off))
		}
	}
	return out
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Sorted(slices.Values(v))
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func (r *authReport) median(v authVariant, m func(*authRun) float64) float64 {
	var vals []float64
	for _, runs := range r.rounds {
		vals = append(vals, m(runs[v]))
	}
	return medianOf(vals)
}

// passed reports whether variant v met the target (median overhead).
func (r *authReport) passed(v authVariant) bool {
	return medianOf(r.overheads(v, rps)) < authMaxOverhead
}

func rps(a *authRun) float64 { return a.get.rps }

// markdown renders the section; standalone adds the machine header.
func (r *authReport) markdown(standalone bool) string {
	var sb strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }
	c := r.cfg
	p("## Identity overhead: manifest GET with auth off vs token auth + RBAC vs Basic auth + RBAC\n\n")
	if standalone {
		host, _ := os.Hostname()
		p("- date: %s, host %s, %s/%s, %d CPUs, %s, %s\n", time.Now().UTC().Format(time.RFC3339), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version())
		p("- berth: %s\n", r.bins.berthFrom)
		p("- load average (1/5/15 min) at start: %s, at end: %s; other processes on this machine disturb the numbers\n", r.loadStart, r.loadEnd)
	}
	p("- the same berth binary started twice, one at a time, fresh data dir each: `-auth=false` and `-auth=true` (first admin from a random `BERTH_ADMIN_PASSWORD`); the Basic variant runs on the auth-on server; orders alternate per round\n")
	p("- auth on: private project `%s` created with `POST /api/v2.0/projects` (201); %s\n", authProject, r.setupNote)
	p("- workload: %d clients sharing one connection pool, %s per variant, `GET /v2/%s/manifests/<tag>` round robin over %d tags with the usual Accept list; every response must be 200 with body sha256 and Docker-Content-Digest equal to the pushed digest (none failed); one untimed warm-up GET per client first\n",
		c.concurrency, c.getDuration, authRepo, c.authManifests)
	p("- token: each client answers its first 401 by `GET <realm>?service=…&scope=%s` with Basic admin credentials and reuses that one token (5 min lifetime) for every GET; basic: every GET carries `Authorization: Basic` admin credentials directly\n", authPullScope)
	p("- overhead = 1 − req/s(variant) / req/s(auth off)")
	if len(r.rounds) > 1 {
		p(", paired within each round; cells are medians over %d rounds", len(r.rounds))
	}
	p("; the server and this client share the machine's %d CPUs, so server CPU per GET is the steadier measure of the work auth adds\n\n", runtime.NumCPU())

	all := []authVariant{varOff, varToken, varBasic}
	row := func(name string, cell func(v authVariant) string) {
		p("| %s |", name)
		for _, v := range all {
			p(" %s |", cell(v))
		}
		p("\n")
	}
	num := func(m func(*authRun) float64, prec int) func(authVariant) string {
		return func(v authVariant) string { return fmt.Sprintf("%.*f", prec, r.median(v, m)) }
	}
	vsOff := func(m func(*authRun) float64, sign bool) func(authVariant) string {
		return func(v authVariant) string {
			if v == varOff {
				return "—"
			}
			o := medianOf(r.overheads(v, m))
			if sign {
				return fmt.Sprintf("%+.1f %%", -o)
			}
			return fmt.Sprintf("%.1f %%", o)
		}
	}
	p("| metric |")
	for _, v := range all {
		p(" %s |", v.title())
	}
	p("\n|---|---:|---:|---:|\n")
	row(fmt.Sprintf("manifest GET, %d clients, %s (req/s)", c.concurrency, c.getDuration), num(rps, 0))
	row("p50 (ms)", num(func(a *authRun) float64 { return ms(a.get.p50) }, 2))
	row("p99 (ms)", num(func(a *authRun) float64 { return ms(a.get.p99) }, 2))
	row("**req/s overhead vs auth off**", vsOff(rps, false))
	row(fmt.Sprintf("target: overhead < %.0f %%", authMaxOverhead), func(v authVariant) string {
		if v == varOff {
			return "—"
		}
		return map[bool]string{true: "**PASS**", false: "**MISS**"}[r.passed(v)]
	})
	serverCPU := func(a *authRun) float64 { return a.serverCPUus }
	row("server CPU per GET (µs)", num(serverCPU, 0))
	row("server CPU per GET vs auth off", vsOff(serverCPU, true))
	row("bench client CPU per GET (µs)", num(func(a *authRun) float64 { return a.clientCPUus }, 0))
	row("other processes' CPU during the window (% of all cores)", num(func(a *authRun) float64 { return a.otherPct }, 0))
	row("tokens fetched inside the timed window", func(v authVariant) string {
		if v != varToken {
			return "—"
		}
		return fmt.Sprintf("%.0f", r.median(v, func(a *authRun) float64 { return float64(a.tokenFetches) }))
	})
	if len(r.rounds) > 1 {
		p("\nper round (req/s, overhead vs auth off):\n\n")
		for i, runs := range r.rounds {
			var order []string
			for _, v := range r.orders[i] {
				order = append(order, v.key())
			}
			off := runs[varOff].get.rps
			p("- round %d (order %s): off %.0f, token %.0f (%.1f %%), basic %.0f (%.1f %%)\n", i+1, strings.Join(order, ", "),
				off, runs[varToken].get.rps, 100*(1-runs[varToken].get.rps/off), runs[varBasic].get.rps, 100*(1-runs[varBasic].get.rps/off))
		}
	}
	if len(r.profiles) > 0 {
		p("\nserver CPU profiles of the timed windows (`go tool pprof -top <file>`): %s\n", strings.Join(r.profiles, ", "))
	}
	return sb.String()
}
