//go:build linux

package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/distributiontest"
)

// benchMiB is the size of the benchmark's one layer; BERTH_PROXY_BENCH_MIB
// overrides it.
const benchMiB = 256

// BenchmarkPullThrough measures a pull of one large layer blob (random,
// incompressible bytes, one GET of /v2/<repo>/blobs/<digest> read whole and
// checked against its sha256) from a CNCF Distribution upstream this
// benchmark starts:
//
//   - direct: straight from Distribution, the speed to match;
//   - cold: through a cache that lacks it (a new cache per pull), so the
//     cache fetches it, streams it to the client while spooling it, and
//     stores it; the store finishing after the last byte is waited for
//     outside the timed region, and reported apart (store-s, store-cpu-s/GiB);
//   - cached: through the cache after one untimed pull stored it;
//   - local: from a non-proxy repository of the same kind of registry the
//     blob was pushed to, the baseline of cached;
//   - sixteen-direct and sixteen-cold: sixteen clients at once, straight
//     from Distribution and through a cold cache (one upstream GET for them
//     all); MB/s counts the bytes of all sixteen, wall-s is the time until
//     the last one has its blob.
//
// MB/s is decimal: bytes delivered to clients per second of wall time.
// cpu-s/GiB is the CPU (user+sys, getrusage) of this process per GiB
// delivered: the clients and the cache run in it, Distribution does not
// (it is a separate process), so for direct it is the client's cost alone
// and cold minus direct is the cache's. upstream-cpu-s/GiB is
// Distribution's own CPU (from /proc/<pid>/stat) where it serves the pull.
// The machine's cores are shared by all of them.
//
//	go test ./proxy -run '^$' -bench PullThrough -benchtime 3x -timeout 30m
func BenchmarkPullThrough(b *testing.B) {
	size := benchSize(b)
	up := distributiontest.Start(b, distributiontest.Options{AccessLog: false})
	img := pushRandom(b, up.Host+"/team/big:v1", int(size), 11)
	layers, err := img.Layers()
	require.NoError(b, err)
	h, err := layers[0].Digest()
	require.NoError(b, err)
	dgst := h.String()
	upPID := distributionPID(up.Dir)
	if upPID == 0 {
		b.Logf("Distribution's process not found under /proc: its CPU is not reported")
	}
	blob := "/blobs/" + dgst
	results := map[string]*benchResult{}
	var mu sync.Mutex
	record := func(name string, r *benchResult) {
		mu.Lock()
		results[name] = r
		mu.Unlock()
	}

	b.Run("direct", func(b *testing.B) {
		url := up.URL + "/v2/team/big" + blob
		record("direct", measure(b, "direct", 1, size, dgst, upPID, func() (string, func()) { return url, nil }))
	})

	b.Run("cold", func(b *testing.B) {
		record("cold", measure(b, "cold", 1, size, dgst, upPID, func() (string, func()) {
			sc := newScope(b)
			e := newCache(sc, up.URL)
			return e.srv.URL + "/v2/hub/team/big" + blob, func() {
				e.settle(sc)
				requireStored(b, e, "hub/team/big", dgst)
				sc.close()
			}
		}))
	})

	b.Run("cached", func(b *testing.B) {
		e := newCache(b, up.URL)
		url := e.srv.URL + "/v2/hub/team/big" + blob
		require.NoError(b, pullN(newBenchClient(), url, 1, dgst, size), "the untimed pull that fills the cache")
		e.settle(b)
		requireStored(b, e, "hub/team/big", dgst)
		record("cached", measure(b, "cached", 1, size, dgst, 0, func() (string, func()) { return url, nil }))
		require.Equal(b, int64(1), e.fills.Stats().Fetches, "the timed pulls were served from the cache")
	})

	b.Run("local", func(b *testing.B) {
		e := newCache(b, up.URL)
		require.NoError(b, remote.Write(ref(b, e.host+"/local/app:v1"), img))
		url := e.srv.URL + "/v2/local/app" + blob
		record("local", measure(b, "local", 1, size, dgst, 0, func() (string, func()) { return url, nil }))
		require.Zero(b, e.fills.Stats().Fetches, "nothing went to the upstream")
	})

	b.Run("sixteen-direct", func(b *testing.B) {
		url := up.URL + "/v2/team/big" + blob
		record("sixteen-direct", measure(b, "sixteen-direct", 16, size, dgst, upPID, func() (string, func()) { return url, nil }))
	})

	b.Run("sixteen-cold", func(b *testing.B) {
		record("sixteen-cold", measure(b, "sixteen-cold", 16, size, dgst, upPID, func() (string, func()) {
			sc := newScope(b)
			e := newCache(sc, up.URL)
			return e.srv.URL + "/v2/hub/team/big" + blob, func() {
				e.settle(sc)
				requireStored(b, e, "hub/team/big", dgst)
				if s := e.fills.Stats(); s.Fetches != 1 {
					b.Logf("sixteen-cold: %d upstream fetches (%d joins), not one", s.Fetches, s.Joins)
				}
				sc.close()
			}
		}))
	})

	// Last, and printed without -v (a parent benchmark's log is not): the
	// ratios of the sub-benchmarks that ran, as metrics and one line.
	b.Run("ratios", func(b *testing.B) {
		for b.Loop() {
		}
		mu.Lock()
		defer mu.Unlock()
		var parts []string
		if d, c := results["direct"], results["cold"]; d != nil && c != nil {
			ratio := c.perPull().Seconds() / d.perPull().Seconds()
			b.ReportMetric(ratio, "cold/direct-time")
			parts = append(parts, fmt.Sprintf("cold/direct time %.2f (target ≤ 1.2; %.3f s vs %.3f s)",
				ratio, c.perPull().Seconds(), d.perPull().Seconds()))
		}
		if c, l := results["cached"], results["local"]; c != nil && l != nil {
			b.ReportMetric(c.mbps()/l.mbps(), "cached/local-MB/s")
			b.ReportMetric(c.cpuPerGiB()/l.cpuPerGiB(), "cached/local-cpu")
			parts = append(parts, fmt.Sprintf("cached/local MB/s %.2f (%.0f vs %.0f), cpu-s/GiB %.2f (%.3f vs %.3f)",
				c.mbps()/l.mbps(), c.mbps(), l.mbps(), c.cpuPerGiB()/l.cpuPerGiB(), c.cpuPerGiB(), l.cpuPerGiB()))
		}
		if d, c := results["sixteen-direct"], results["sixteen-cold"]; d != nil && c != nil {
			ratio := c.perPull().Seconds() / d.perPull().Seconds()
			b.ReportMetric(ratio, "sixteen-cold/direct-wall")
			parts = append(parts, fmt.Sprintf("sixteen-cold/sixteen-direct wall %.2f (%.3f s vs %.3f s)",
				ratio, c.perPull().Seconds(), d.perPull().Seconds()))
		}
		if len(parts) > 0 {
			b.Logf("ratios: %s", strings.Join(parts, "; "))
		}
	})
}

// benchResult adds up the timed pulls of one sub-benchmark.
type benchResult struct {
	bytes     int64           // delivered to the clients per iteration
	times     []time.Duration // wall time of each iteration
	cpu       time.Duration   // this process, timed regions
	upCPU     time.Duration   // Distribution, timed regions
	upKnown   bool
	store     time.Duration // after the last byte until the cache is settled (cold runs)
	storeCPU  time.Duration
	hasStores bool
}

func (r *benchResult) wall() time.Duration {
	var t time.Duration
	for _, d := range r.times {
		t += d
	}
	return t
}

func (r *benchResult) perPull() time.Duration { return r.wall() / time.Duration(len(r.times)) }

func (r *benchResult) gib() float64 { return float64(r.bytes) * float64(len(r.times)) / (1 << 30) }

func (r *benchResult) mbps() float64 {
	return float64(r.bytes) * float64(len(r.times)) / r.wall().Seconds() / 1e6
}

func (r *benchResult) cpuPerGiB() float64 { return r.cpu.Seconds() / r.gib() }

// measure times b.Loop's iterations of clients concurrent pulls of the blob
// dgst of size bytes. iter is called untimed before each: it returns the URL
// to pull and what to do after the pull (nil: nothing), also untimed.
func measure(b *testing.B, name string, clients int, size int64, dgst string, upPID int,
	iter func() (url string, after func())) *benchResult {
	client := newBenchClient()
	defer client.CloseIdleConnections()
	r := &benchResult{bytes: int64(clients) * size, upKnown: upPID > 0}
	b.SetBytes(r.bytes)
	for b.Loop() {
		b.StopTimer()
		url, after := iter()
		runtime.GC() // the garbage of earlier iterations is not this one's
		cpu0, up0, t0 := processCPU(), procCPU(upPID), time.Now()
		b.StartTimer()
		err := pullN(client, url, clients, dgst, size)
		b.StopTimer()
		wall, cpu, upCPU := time.Since(t0), processCPU()-cpu0, procCPU(upPID)-up0
		require.NoError(b, err)
		r.times = append(r.times, wall)
		r.cpu += cpu
		r.upCPU += upCPU
		if after != nil {
			cpu0, t0 := processCPU(), time.Now()
			after()
			r.store += time.Since(t0)
			r.storeCPU += processCPU() - cpu0
			r.hasStores = true
		}
		b.StartTimer()
	}
	gib := r.gib()
	b.ReportMetric(r.mbps(), "MB/s")
	b.ReportMetric(r.perPull().Seconds(), "wall-s")
	b.ReportMetric(r.cpuPerGiB(), "cpu-s/GiB")
	line := fmt.Sprintf("%s: %d × %d client(s) × %.1f MB: %s per pull (%s), %.0f MB/s, process %.3f cpu-s/GiB",
		name, len(r.times), clients, float64(size)/1e6, r.perPull().Round(time.Millisecond), durations(r.times),
		r.mbps(), r.cpuPerGiB())
	if r.upKnown {
		b.ReportMetric(r.upCPU.Seconds()/gib, "upstream-cpu-s/GiB")
		line += fmt.Sprintf(", Distribution %.3f cpu-s/GiB", r.upCPU.Seconds()/gib)
	}
	if r.hasStores {
		n := time.Duration(len(r.times))
		b.ReportMetric((r.store / n).Seconds(), "store-s")
		b.ReportMetric(r.storeCPU.Seconds()/(float64(size)*float64(len(r.times))/(1<<30)), "store-cpu-s/GiB")
		line += fmt.Sprintf("; then storing took %s and %.3f cpu-s/GiB stored", (r.store / n).Round(time.Millisecond),
			r.storeCPU.Seconds()/(float64(size)*float64(len(r.times))/(1<<30)))
	}
	b.Log(line)
	return r
}

func durations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
	}
	return strings.Join(s, " ") + " s"
}

// benchSize is the layer's size in bytes.
func benchSize(tb testing.TB) int64 {
	mib := benchMiB
	if v := os.Getenv("BERTH_PROXY_BENCH_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			tb.Fatalf("BERTH_PROXY_BENCH_MIB=%q: want a positive number of MiB", v)
		}
		mib = n
	}
	return int64(mib) << 20
}

// newBenchClient is one client's HTTP stack; a pull's bytes are not
// compressed on the way.
func newBenchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}}
}

// pullN has n clients GET url at once, each reading the whole body and
// checking its length and digest; it returns the first failure.
func pullN(client *http.Client, url string, n int, dgst string, size int64) error {
	if n == 1 {
		return pullOne(client, url, dgst, size)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			if err := pullOne(client, url, dgst, size); err != nil {
				errs[i] = fmt.Errorf("client %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func pullOne(client *http.Client, url, dgst string, size int64) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("GET %s: status %d: %s", url, resp.StatusCode, msg)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, resp.Body, make([]byte, 256<<10))
	if err != nil {
		return fmt.Errorf("GET %s: after %d bytes: %w", url, n, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); n != size || got != dgst {
		return fmt.Errorf("GET %s: %d bytes of %s, want %d of %s", url, n, got, size, dgst)
	}
	return nil
}

// requireStored checks through the registry's own transport (which never
// consults the upstream) that the cache stored the blob.
func requireStored(tb testing.TB, e *cacheEnv, repo, dgst string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://x/v2/"+repo+"/blobs/"+dgst, nil)
	require.NoError(tb, err)
	resp, err := e.reg.Transport("bench").RoundTrip(req)
	require.NoError(tb, err)
	resp.Body.Close()
	require.Equal(tb, http.StatusOK, resp.StatusCode, "the cache stored %s in %s", dgst, repo)
}

// scope is a testing.TB whose cleanups run at close rather than at the end
// of the benchmark, so that each iteration's cache (a registry holding the
// layer in memory) is gone before the next. close is idempotent, and also
// runs when the benchmark ends early.
type scope struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func newScope(tb testing.TB) *scope {
	s := &scope{TB: tb}
	tb.Cleanup(s.close)
	return s
}

func (s *scope) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

func (s *scope) close() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// distributionPID finds the Distribution process started over dir by its
// command line (registry serve <dir>/config.yml); 0 when it is not found.
func distributionPID(dir string) int {
	cfg := []byte(filepath.Join(dir, "config.yml"))
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if bytes.Equal(arg, cfg) {
				return pid
			}
		}
	}
	return 0
}

// procCPU is the user and system CPU time of process pid so far, from
// /proc/<pid>/stat (in clock ticks, USER_HZ: 100 on Linux); 0 when pid is
// 0 or unreadable.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) in parentheses:
	// state is field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * (time.Second / 100)
}
