package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	seedMono, seedChunked, seedRSS, seedLayer = 1, 2, 3, 4
	pullRounds                                = 3
)

type manifest struct {
	body   []byte
	digest string
}

// testData is generated once and pushed, byte for byte, to every peer.
type testData struct {
	mono, chunked             []byte
	monoDigest, chunkedDigest string
	rssDigest                 string
	config, layer             []byte
	configDigest, layerDigest string
	seq, conc                 []manifest // for the sequential and concurrent PUTs
	shaMBps                   float64
}

func prepareData(ctx context.Context, cfg *config, runID string) (*testData, error) {
	d := &testData{mono: fill(seedMono, cfg.blobSize), chunked: fill(seedChunked, cfg.blobSize)}
	// Single-core sha256 rate: best of 3 over the in-memory blob.
	best := time.Duration(math.MaxInt64)
	var sum [32]byte
	for range 3 {
		t0 := time.Now()
		sum = sha256.Sum256(d.mono)
		best = min(best, time.Since(t0))
	}
	d.shaMBps = float64(len(d.mono)) / mb / best.Seconds()
	d.monoDigest = "sha256:" + hex.EncodeToString(sum[:])
	d.chunkedDigest = digestOf(d.chunked)

	h, buf, g := sha256.New(), make([]byte, mib), newGen(seedRSS, cfg.rssBlobSize)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, _ := g.Read(buf)
		if n == 0 {
			break
		}
		h.Write(buf[:n])
	}
	d.rssDigest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	m, err := prepareManifests(cfg, runID)
	if err != nil {
		return nil, err
	}
	d.layer, d.layerDigest, d.config, d.configDigest, d.seq, d.conc = m.layer, m.layerDigest, m.config, m.configDigest, m.seq, m.conc
	return d, nil
}

// prepareManifests makes the manifest workloads' data: one config, one
// layer, and -manifests distinct manifests of each kind referencing them.
func prepareManifests(cfg *config, runID string) (*testData, error) {
	d := &testData{}
	d.layer = fill(seedLayer, 4096)
	d.layerDigest = digestOf(d.layer)
	d.config = fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%q]},"config":{"Labels":{"org.berthlabs.bench.run":%q}}}`,
		d.layerDigest, runID)
	d.configDigest = digestOf(d.config)
	mk := func(kind string, i int) manifest {
		b := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},`+
			`"layers":[{"mediaType":%q,"digest":%q,"size":%d}],"annotations":{"org.berthlabs.bench.run":%q,"org.berthlabs.bench.index":"%s-%d"}}`,
			mtOCIManifest, mtOCIConfig, d.configDigest, len(d.config), mtOCILayer, d.layerDigest, len(d.layer), runID, kind, i)
		return manifest{body: b, digest: digestOf(b)}
	}
	for i := range cfg.manifests {
		d.seq = append(d.seq, mk("seq", i))
		d.conc = append(d.conc, mk("conc", i))
	}
	return d, nil
}

type latStats struct {
	n                int
	elapsed          time.Duration
	rps              float64
	p50, p99, maxLat time.Duration
}

type peerResult struct {
	monoMBps, chunkedMBps     float64
	pullBestMBps, pullAvgMBps float64
	pullCPUPerGiB             float64 // server CPU-seconds per GiB pulled
	putSeq, getSeq, putConc   latStats
	getConc                   latStats
	rssBase, rssPeak          int64 // bytes
	rssHWMReset               bool
	rssMBps                   float64
	serverCPU, otherCPU, wall float64 // seconds over the whole suite
}

func (r *peerResult) rssGrowth() int64 { return r.rssPeak - r.rssBase }

type workloads struct {
	cfg   *config
	c     *client
	p     *peer
	data  *testData
	runID string
	logf  func(string, ...any)
	res   peerResult
}

func (w *workloads) repo(name string) string { return "bench-" + w.runID + "/" + name }

// settle flushes dirty pages left by the previous workload so its writeback
// does not land inside the next measurement, and checks the server is up.
func (w *workloads) settle(ctx context.Context) error {
	syscall.Sync()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
	}
	return w.p.alive()
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / mb / d.Seconds() }

func (w *workloads) runAll(ctx context.Context) (*peerResult, error) {
	defer w.c.close()
	before, err := takeCPUSnap(w.p.pid())
	if err != nil {
		return nil, err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		// RSS first: a fresh process gives the cleanest baseline and does
		// not hide growth behind memory retained from earlier workloads.
		{"rss", w.rssPush},
		{"push monolithic", w.pushMono},
		{"push chunked", w.pushChunked},
		{"pull", w.pull},
		{"manifests", w.manifests},
		{"concurrent manifest GET", w.concGet},
	}
	for _, s := range steps {
		if err := w.settle(ctx); err != nil {
			return nil, err
		}
		if err := s.fn(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if err := w.p.alive(); err != nil {
		return nil, err
	}
	after, err := takeCPUSnap(w.p.pid())
	if err != nil {
		return nil, err
	}
	w.res.wall = after.at.Sub(before.at).Seconds()
	w.res.serverCPU = after.server - before.server
	w.res.otherCPU = max(0, (after.machine-before.machine)-w.res.serverCPU-(after.self-before.self))
	w.logf("suite took %.1fs; server used %.1f CPU-s, other processes %.1f CPU-s", w.res.wall, w.res.serverCPU, w.res.otherCPU)
	return &w.res, nil
}

func (w *workloads) rssPush(ctx context.Context) error {
	pid, size := w.p.pid(), w.cfg.rssBlobSize
	reset := resetPeakRSS(pid)
	st, err := procStatus(pid, "VmRSS")
	if err != nil {
		return err
	}
	base := st["VmRSS"]
	stopc, peakc := make(chan struct{}), make(chan int64)
	go func() {
		peak, t := base, time.NewTicker(20*time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopc:
				peakc <- peak
				return
			case <-t.C:
				if st, err := procStatus(pid, "VmRSS"); err == nil {
					peak = max(peak, st["VmRSS"])
				}
			}
		}
	}()
	repo := w.repo("rss")
	t0 := time.Now()
	err = w.c.pushMonolithic(ctx, repo, w.data.rssDigest, newGen(seedRSS, size), size)
	el := time.Since(t0)
	close(stopc)
	peak := <-peakc
	if err != nil {
		return err
	}
	if reset {
		if st, err := procStatus(pid, "VmHWM"); err == nil {
			peak = max(peak, st["VmHWM"])
		}
	}
	w.res.rssBase, w.res.rssPeak, w.res.rssHWMReset, w.res.rssMBps = base, peak, reset, mbps(size, el)
	w.logf("RSS during %d MiB streamed push: %d -> %d MiB (growth %d MiB, %s), %.0f MB/s",
		size/mib, base/mib, peak/mib, (peak-base)/mib, map[bool]string{true: "VmHWM reset + sampled", false: "sampled every 20 ms"}[reset], w.res.rssMBps)
	return w.c.headBlob(ctx, repo, w.data.rssDigest, size)
}

func (w *workloads) pushMono(ctx context.Context) error {
	repo, size := w.repo("mono"), int64(len(w.data.mono))
	t0 := time.Now()
	if err := w.c.pushMonolithic(ctx, repo, w.data.monoDigest, bytes.NewReader(w.data.mono), size); err != nil {
		return err
	}
	w.res.monoMBps = mbps(size, time.Since(t0))
	w.logf("push monolithic %d MiB: %.0f MB/s", size/mib, w.res.monoMBps)
	return w.c.headBlob(ctx, repo, w.data.monoDigest, size)
}

func (w *workloads) pushChunked(ctx context.Context) error {
	repo, size := w.repo("chunked"), int64(len(w.data.chunked))
	t0 := time.Now()
	if err := w.c.pushChunked(ctx, repo, w.data.chunkedDigest, w.data.chunked, w.cfg.chunkSize); err != nil {
		return err
	}
	w.res.chunkedMBps = mbps(size, time.Since(t0))
	w.logf("push chunked %d MiB in %d MiB PATCHes: %.0f MB/s", size/mib, w.cfg.chunkSize/mib, w.res.chunkedMBps)
	return w.c.headBlob(ctx, repo, w.data.chunkedDigest, size)
}

func (w *workloads) pull(ctx context.Context) error {
	repo, size, buf := w.repo("mono"), int64(len(w.data.mono)), make([]byte, mib)
	// One untimed pull that verifies the content digest, then timed pulls.
	if err := w.c.pullBlob(ctx, repo, w.data.monoDigest, size, buf, true); err != nil {
		return err
	}
	var total float64
	before, err := takeCPUSnap(w.p.pid())
	if err != nil {
		return err
	}
	for range pullRounds {
		t0 := time.Now()
		if err := w.c.pullBlob(ctx, repo, w.data.monoDigest, size, buf, false); err != nil {
			return err
		}
		r := mbps(size, time.Since(t0))
		total += r
		w.res.pullBestMBps = max(w.res.pullBestMBps, r)
	}
	w.res.pullAvgMBps = total / pullRounds
	after, err := takeCPUSnap(w.p.pid())
	if err != nil {
		return err
	}
	// What serving the bytes cost the server, whoever's CPU is the limit.
	w.res.pullCPUPerGiB = (after.server - before.server) / (float64(size*pullRounds) / (1 << 30))
	w.logf("pull %d MiB (digest verified once): best %.0f MB/s, avg %.0f MB/s, server %.2f CPU-s per GiB",
		size/mib, w.res.pullBestMBps, w.res.pullAvgMBps, w.res.pullCPUPerGiB)
	return nil
}

func (w *workloads) manifests(ctx context.Context) error {
	repo, d := w.repo("manifests"), w.data
	if err := w.c.pushMonolithic(ctx, repo, d.configDigest, bytes.NewReader(d.config), int64(len(d.config))); err != nil {
		return err
	}
	if err := w.c.pushMonolithic(ctx, repo, d.layerDigest, bytes.NewReader(d.layer), int64(len(d.layer))); err != nil {
		return err
	}
	n := int64(len(d.seq))
	var err error
	if w.res.putSeq, err = runOps(ctx, 1, n, 0, func(ctx context.Context, i int64) error {
		return w.c.putManifest(ctx, repo, fmt.Sprintf("s%d", i), &d.seq[i])
	}); err != nil {
		return err
	}
	w.logf("manifest PUT x%d, 1 client: %s", n, w.res.putSeq)
	if err := w.settle(ctx); err != nil {
		return err
	}
	if w.res.getSeq, err = runOps(ctx, 1, n, 0, func(ctx context.Context, i int64) error {
		return w.c.getManifest(ctx, repo, fmt.Sprintf("s%d", i), &d.seq[i], true)
	}); err != nil {
		return err
	}
	w.logf("manifest GET x%d, 1 client (digests verified): %s", n, w.res.getSeq)
	if err := w.settle(ctx); err != nil {
		return err
	}
	if w.res.putConc, err = runOps(ctx, w.cfg.concurrency, n, 0, func(ctx context.Context, i int64) error {
		return w.c.putManifest(ctx, repo, fmt.Sprintf("c%d", i), &d.conc[i])
	}); err != nil {
		return err
	}
	w.logf("manifest PUT x%d, %d clients: %s", n, w.cfg.concurrency, w.res.putConc)
	return nil
}

func (w *workloads) concGet(ctx context.Context) error {
	repo, d := w.repo("manifests"), w.data
	n := int64(len(d.seq))
	var err error
	w.res.getConc, err = runOps(ctx, w.cfg.concurrency, w.cfg.getMax, w.cfg.getDuration, func(ctx context.Context, i int64) error {
		return w.c.getManifest(ctx, repo, fmt.Sprintf("s%d", i%n), &d.seq[i%n], false)
	})
	if err != nil {
		return err
	}
	w.logf("manifest GET, %d clients for %s: %s", w.cfg.concurrency, w.cfg.getDuration, w.res.getConc)
	return nil
}

// runOps runs op for i = 0, 1, ... on workers goroutines until maxOps ops
// were started or dur (if > 0) elapsed. Any error aborts the run.
func runOps(parent context.Context, workers int, maxOps int64, dur time.Duration, op func(context.Context, int64) error) (latStats, error) {
	return runWorkerOps(parent, workers, maxOps, dur, func(ctx context.Context, _ int, i int64) error { return op(ctx, i) })
}

// runWorkerOps is runOps whose op also learns which worker (0..workers-1)
// runs it, for workers that each act as a separate client.
func runWorkerOps(parent context.Context, workers int, maxOps int64, dur time.Duration, op func(ctx context.Context, worker int, i int64) error) (latStats, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		lats     = make([][]time.Duration, workers)
	)
	start := time.Now()
	deadline := start.Add(dur)
	for wkr := range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= maxOps || ctx.Err() != nil || (dur > 0 && time.Now().After(deadline)) {
					return
				}
				t0 := time.Now()
				if err := op(ctx, wkr, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				lats[wkr] = append(lats[wkr], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return latStats{}, firstErr
	}
	if err := parent.Err(); err != nil {
		return latStats{}, err
	}
	all := slices.Concat(lats...)
	if len(all) == 0 {
		return latStats{}, fmt.Errorf("no operations completed")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[max(0, int(math.Ceil(p*float64(len(all))))-1)] }
	return latStats{n: len(all), elapsed: elapsed, rps: float64(len(all)) / elapsed.Seconds(),
		p50: pct(0.50), p99: pct(0.99), maxLat: all[len(all)-1]}, nil
}

func (s latStats) String() string {
	return fmt.Sprintf("%d ops in %.2fs, %.0f req/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms",
		s.n, s.elapsed.Seconds(), s.rps, ms(s.p50), ms(s.p99), ms(s.maxLat))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sinkCeiling PUTs the test blob to an in-process HTTP server that only
// sha256-hashes and discards the body: the most any registry can reach with
// this client on this machine (best of 2).
func sinkCeiling(ctx context.Context, cfg *config, data []byte) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.CopyBuffer(h, r.Body, make([]byte, mib)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(h.Sum(nil)))
		w.WriteHeader(http.StatusCreated)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c := newClient("http://"+ln.Addr().String(), cfg)
	defer c.close()
	want, best := digestOf(data), 0.0
	for range 2 {
		t0 := time.Now()
		req := newReq(http.MethodPut, c.base+"/sink", bytes.NewReader(data), int64(len(data)))
		if err := c.do(ctx, c.blobTimeout, req, http.StatusCreated, func(r *http.Response) error { return checkDigestHeader(r, want) }); err != nil {
			return 0, fmt.Errorf("loopback sink: %w", err)
		}
		best = max(best, mbps(int64(len(data)), time.Since(t0)))
	}
	return best, nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}
