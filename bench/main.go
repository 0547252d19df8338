// Command bench starts CNCF Distribution and the berth reference server on
// loopback, one at a time, drives both with the same HTTP client code and
// prints a markdown comparison table.
//
//	cd bench && go run . [-quick] [-rounds 3] [-peers distribution,berth] [-out report.md]
//	cd bench && go run . -auth-overhead [-rounds 3] [-get-duration 10s] [-auth-profile-dir prof]
//
// -auth-overhead runs only the identity-overhead benchmark of issue 3
// (authbench.go): berth started with -auth=false, then with auth on, and
// 32 clients GETting manifests anonymously, with one cached bearer token
// each (Docker token flow), and with Basic credentials on every request.
// The full run appends it as a last section unless -auth-section=false.
//
// Distribution v3.1.2 is taken from PATH or $GOPATH/bin (go-installed if
// missing); berth is built from <-berth-src>/examples/server (default ..) or
// given with -berth-bin. The machine is small and often shared, so the
// report also shows server CPU time and how much CPU other processes used;
// -rounds N (peer order alternating) reports medians. The smoke test runs
// -quick only when BERTH_BENCH=1: BERTH_BENCH=1 go test -v .
//
// The program exits 0 when every request succeeded, even if performance
// targets are missed (it is a measurement), and nonzero on any error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	mib = 1 << 20
	mb  = 1e6 // MB/s figures use decimal megabytes
)

type config struct {
	peers        []string
	berthSrc     string
	berthBin     string
	berthArgs    []string
	registryBin  string
	install      bool
	quick        bool
	blobSize     int64
	chunkSize    int64
	manifests    int
	concurrency  int
	rounds       int
	getDuration  time.Duration
	getMax       int64
	rssBlobSize  int64
	reqTimeout   time.Duration
	blobTimeout  time.Duration
	maxTime      time.Duration
	out          string
	standinBerth bool    // hidden: a second Distribution plays the berth peer
	s3           s3Store // Distribution's storage when endpoint is set

	nodesGet       int    // -nodes-get N: only manifest GETs over 1..N nodes
	authOnly       bool   // -auth-overhead: only the identity-overhead benchmark
	authSection    bool   // append it to the full run
	authManifests  int    // manifests pushed by tag for it
	authProfileDir string // save server CPU profiles of its timed windows
}

func parseFlags(args []string, errOut io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var (
		peers, berthArgs       string
		blobMiB, chunkMiB, rss int64
		c                      config
	)
	fs.StringVar(&peers, "peers", "distribution,berth", "comma-separated peers to run, in order: distribution, berth")
	fs.StringVar(&c.berthSrc, "berth-src", "..", "berth module root; the server is built from <berth-src>/examples/server")
	fs.StringVar(&c.berthBin, "berth-bin", "", "prebuilt berth server binary (skips the build)")
	fs.StringVar(&berthArgs, "berth-args", "-log-level error -auth=false", "extra arguments for the berth server, after -addr and -data (Distribution runs at log level error)")
	fs.StringVar(&c.registryBin, "registry-bin", "", "Distribution registry binary (default: PATH, then $GOPATH/bin)")
	fs.BoolVar(&c.install, "install-registry", true, "go install Distribution "+distributionVersion+" if the binary is missing")
	fs.BoolVar(&c.quick, "quick", false, "smoke-test sizes: 64 MiB blobs, 200 manifests, 3 s of GETs, 256 MiB RSS blob")
	fs.Int64Var(&blobMiB, "blob-mib", 512, "size of the pushed/pulled blob in MiB")
	fs.Int64Var(&chunkMiB, "chunk-mib", 16, "PATCH chunk size in MiB for the chunked push")
	fs.IntVar(&c.manifests, "manifests", 1000, "number of manifests PUT and GET")
	fs.IntVar(&c.rounds, "rounds", 1, "repeat everything this many times (peer order alternating) and report medians")
	fs.IntVar(&c.concurrency, "concurrency", 32, "clients for the concurrent manifest workloads")
	fs.DurationVar(&c.getDuration, "get-duration", 10*time.Second, "duration of the concurrent manifest GET workload")
	fs.Int64Var(&c.getMax, "get-max", 1000000, "upper bound on requests in the concurrent manifest GET workload")
	fs.Int64Var(&rss, "rss-blob-mib", 2048, "size in MiB of the streamed blob pushed while sampling server RSS")
	fs.DurationVar(&c.reqTimeout, "req-timeout", 30*time.Second, "timeout of each small request")
	fs.DurationVar(&c.blobTimeout, "blob-timeout", 10*time.Minute, "timeout of each large blob request")
	fs.DurationVar(&c.maxTime, "max-time", 45*time.Minute, "bound on the whole run")
	fs.StringVar(&c.out, "out", "", "also write the markdown report to this file")
	fs.IntVar(&c.nodesGet, "nodes-get", 0, "run only manifest GETs from -concurrency clients round-robin over 1, 2, ... N berth nodes sharing one store (-berth-args pointing them at PostgreSQL and S3; see scaleout.sh)")
	fs.BoolVar(&c.authOnly, "auth-overhead", false, "run only the identity-overhead benchmark: manifest GETs against berth with -auth=false vs token auth + RBAC vs Basic auth + RBAC (honours -concurrency, -get-duration, -rounds)")
	fs.BoolVar(&c.authSection, "auth-section", true, "append the identity-overhead benchmark to the full run (when berth is a peer)")
	fs.IntVar(&c.authManifests, "auth-manifests", 100, "distinct manifests pushed by tag for the identity-overhead benchmark")
	fs.StringVar(&c.authProfileDir, "auth-profile-dir", "", "save the berth server's CPU profile of each identity-overhead window here (via -debug-addr)")
	fs.BoolVar(&c.standinBerth, "x-berth-standin", false, "")
	fs.StringVar(&c.s3.endpoint, "s3-endpoint", "", "run Distribution on its S3 driver against this S3-compatible store (with -s3-bucket; credentials from $BENCH_S3_ACCESS_KEY and $BENCH_S3_SECRET_KEY); point berth at the same store with -berth-args (see scaleout.sh)")
	fs.StringVar(&c.s3.bucket, "s3-bucket", "", "bucket for -s3-endpoint")
	fs.Usage = func() {
		fmt.Fprintf(errOut, "usage: go run . [flags]\n\nflags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			if strings.HasPrefix(f.Name, "x-") {
				return // hidden
			}
			fmt.Fprintf(errOut, "  -%s (default %q)\n    \t%s\n", f.Name, f.DefValue, f.Usage)
		})
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	c.berthArgs = strings.Fields(berthArgs)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.quick {
		if !set["blob-mib"] {
			blobMiB = 64
		}
		if !set["manifests"] {
			c.manifests = 200
		}
		if !set["get-duration"] {
			c.getDuration = 3 * time.Second
		}
		if !set["rss-blob-mib"] {
			rss = 256
		}
	}
	c.blobSize, c.chunkSize, c.rssBlobSize = blobMiB*mib, chunkMiB*mib, rss*mib
	if c.blobSize <= 0 || c.chunkSize <= 0 || c.rssBlobSize <= 0 || c.manifests <= 0 ||
		c.concurrency <= 0 || c.rounds <= 0 || c.getDuration <= 0 || c.getMax <= 0 || c.authManifests <= 0 {
		return nil, errors.New("sizes, counts and durations must be positive")
	}
	seen := map[string]bool{}
	for _, p := range strings.Split(peers, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p != peerDistribution && p != peerBerth {
			return nil, fmt.Errorf("unknown peer %q (want distribution or berth)", p)
		}
		if seen[p] {
			return nil, fmt.Errorf("peer %q listed twice", p)
		}
		seen[p] = true
		c.peers = append(c.peers, p)
	}
	if len(c.peers) == 0 {
		return nil, errors.New("no peers selected")
	}
	if c.authOnly {
		if c.standinBerth {
			return nil, errors.New("-auth-overhead needs the real berth server")
		}
		c.peers = []string{peerBerth} // Distribution has no part in it
	}
	if c.s3.endpoint != "" {
		c.s3.accessKey, c.s3.secretKey = os.Getenv("BENCH_S3_ACCESS_KEY"), os.Getenv("BENCH_S3_SECRET_KEY")
		if c.s3.bucket == "" || c.s3.accessKey == "" || c.s3.secretKey == "" {
			return nil, errors.New("-s3-endpoint needs -s3-bucket, $BENCH_S3_ACCESS_KEY and $BENCH_S3_SECRET_KEY")
		}
	}
	if abs, err := filepath.Abs(c.berthSrc); err == nil {
		c.berthSrc = abs
	}
	return &c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	// First Ctrl-C/SIGTERM cancels the run: requests abort, children are
	// stopped and temp dirs removed by the deferred cleanups in run. A
	// second signal kills the program; children then die by Pdeathsig.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, cfg.maxTime)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err = run(ctx, cfg, os.Stdout, os.Stderr)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: error:", err)
		os.Exit(1)
	}
}

// run performs the whole benchmark. The report goes to out, progress to logw.
func run(ctx context.Context, cfg *config, out, logw io.Writer) (err error) {
	logf := func(format string, a ...any) { fmt.Fprintf(logw, format+"\n", a...) }
	tmp, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bins, err := resolveBinaries(ctx, cfg, tmp, logw)
	if err != nil {
		return err
	}

	runID := fmt.Sprintf("%x", time.Now().UnixNano())
	if cfg.nodesGet > 0 {
		table, err := runNodesGet(ctx, cfg, bins, tmp, runID, logf)
		if err != nil {
			return fmt.Errorf("nodes: %w", err)
		}
		return writeReport(cfg, out, table)
	}
	if cfg.authOnly {
		ar, err := runAuthOverhead(ctx, cfg, bins, tmp, runID, logf)
		if err != nil {
			return fmt.Errorf("identity overhead: %w", err)
		}
		return writeReport(cfg, out, ar.markdown(true))
	}
	logf("generating %d MiB test blobs ...", 2*cfg.blobSize/mib)
	data, err := prepareData(ctx, cfg, runID)
	if err != nil {
		return err
	}
	logf("single-core sha256: %.0f MB/s", data.shaMBps)
	rep := &report{cfg: cfg, bins: bins, shaMBps: data.shaMBps, results: map[string][]*peerResult{}, loadStart: loadAvg()}
	if rep.sinkMBps, err = sinkCeiling(ctx, cfg, data.mono); err != nil {
		return err
	}
	logf("loopback ceiling (in-process sha256 sink): %.0f MB/s", rep.sinkMBps)
	if rep.diskMBps, err = diskRate(tmp, data.mono); err != nil {
		return err
	}
	logf("durable disk write (new file + fsync): %.0f MB/s", rep.diskMBps)

	for round := range cfg.rounds {
		order := slices.Clone(cfg.peers)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			if cfg.rounds > 1 {
				logf("round %d/%d: %s", round+1, cfg.rounds, name)
			}
			res, err := benchPeer(ctx, cfg, bins, name, tmp, data, fmt.Sprintf("%s-%d", runID, round), logf)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			rep.results[name] = append(rep.results[name], res)
		}
	}
	rep.loadEnd = loadAvg()
	text := rep.markdown()
	switch {
	case !cfg.authSection || !slices.Contains(cfg.peers, peerBerth):
	case bins.standin:
		text += "\n(identity-overhead section skipped: the berth peer is a stand-in)\n"
	default:
		ar, err := runAuthOverhead(ctx, cfg, bins, tmp, runID, logf)
		if err != nil {
			return fmt.Errorf("identity overhead: %w", err)
		}
		text += "\n" + ar.markdown(false)
	}
	return writeReport(cfg, out, text)
}

// writeReport prints the report and, with -out, writes it to that file.
func writeReport(cfg *config, out io.Writer, text string) error {
	fmt.Fprint(out, text)
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(text), 0o644)
	}
	return nil
}

// benchPeer starts one registry in its own data dir, runs every workload
// against it and stops it again, so the peers never compete for the CPUs.
func benchPeer(ctx context.Context, cfg *config, bins *binaries, name, tmp string, data *testData, runID string, logf func(string, ...any)) (res *peerResult, err error) {
	dir, err := os.MkdirTemp(tmp, name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := startPeer(ctx, name, bins, dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := p.stop(); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			err = fmt.Errorf("%w\n--- %s log tail ---\n%s", err, name, p.logTail())
		}
	}()
	logf("[%s] started pid %d at %s", name, p.pid(), p.base)
	w := &workloads{cfg: cfg, c: newClient(p.base, cfg), p: p, data: data, runID: runID,
		logf: func(format string, a ...any) { logf("["+name+"] "+format, a...) }}
	return w.runAll(ctx)
}
