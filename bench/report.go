package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

type report struct {
	cfg                *config
	bins               *binaries
	shaMBps            float64
	diskMBps           float64
	results            map[string][]*peerResult // one per round
	sinkMBps           float64
	loadStart, loadEnd string
}

// metric extracts one number from a peer's result.
type metric func(*peerResult) float64

// row is one line of the table. check is nil for rows without a target; it
// gets the berth/Distribution ratio and berth's (median) value of any metric.
type row struct {
	name    string
	val     metric
	prec    int
	noRatio bool
	target  string
	check   func(ratio float64, berth func(metric) float64) bool
}

func (r *report) rows() []row {
	c, sha := r.cfg, r.shaMBps
	halfSha := 0.5 * sha
	pushTarget := fmt.Sprintf(">= 1.5x and >= %.0f MB/s (50%% of sha256)", halfSha)
	pushCheck := func(v metric) func(float64, func(metric) float64) bool {
		return func(ratio float64, b func(metric) float64) bool { return ratio >= 1.5 && b(v) >= halfSha }
	}
	mono := func(p *peerResult) float64 { return p.monoMBps }
	chunked := func(p *peerResult) float64 { return p.chunkedMBps }
	getConcP99 := func(p *peerResult) float64 { return ms(p.getConc.p99) }
	rssGrowth := func(p *peerResult) float64 { return float64(p.rssGrowth()) / mib }
	n, k := c.manifests, c.concurrency
	return []row{
		{name: fmt.Sprintf("blob push, monolithic POST+PUT, %d MiB (MB/s)", c.blobSize/mib), val: mono, target: pushTarget, check: pushCheck(mono)},
		{name: fmt.Sprintf("blob push, chunked %d MiB PATCHes, %d MiB (MB/s)", c.chunkSize/mib, c.blobSize/mib), val: chunked, target: pushTarget, check: pushCheck(chunked)},
		{name: fmt.Sprintf("blob pull, %d MiB, best of %d (MB/s)", c.blobSize/mib, pullRounds), val: func(p *peerResult) float64 { return p.pullBestMBps },
			target: ">= 1.5x", check: func(ratio float64, _ func(metric) float64) bool { return ratio >= 1.5 }},
		{name: fmt.Sprintf("blob pull, %d MiB, avg of %d (MB/s)", c.blobSize/mib, pullRounds), val: func(p *peerResult) float64 { return p.pullAvgMBps }},
		{name: "blob pull, server CPU per GiB pulled (CPU-s)", val: func(p *peerResult) float64 { return p.pullCPUPerGiB }, prec: 2},
		{name: fmt.Sprintf("manifest PUT x%d, 1 client (req/s)", n), val: func(p *peerResult) float64 { return p.putSeq.rps },
			target: ">= 5x", check: func(ratio float64, _ func(metric) float64) bool { return ratio >= 5 }},
		{name: fmt.Sprintf("manifest PUT x%d, 1 client (p99 ms)", n), val: func(p *peerResult) float64 { return ms(p.putSeq.p99) }, prec: 2},
		{name: fmt.Sprintf("manifest GET x%d, 1 client (req/s)", n), val: func(p *peerResult) float64 { return p.getSeq.rps }},
		{name: fmt.Sprintf("manifest GET x%d, 1 client (p99 ms)", n), val: func(p *peerResult) float64 { return ms(p.getSeq.p99) }, prec: 2},
		{name: fmt.Sprintf("manifest PUT x%d, %d clients (req/s)", n, k), val: func(p *peerResult) float64 { return p.putConc.rps }},
		{name: fmt.Sprintf("manifest PUT x%d, %d clients (p99 ms)", n, k), val: func(p *peerResult) float64 { return ms(p.putConc.p99) }, prec: 2},
		{name: fmt.Sprintf("manifest GET, %d clients, %s (req/s)", k, c.getDuration), val: func(p *peerResult) float64 { return p.getConc.rps },
			target: ">= 3x and p99 < 10 ms", check: func(ratio float64, b func(metric) float64) bool { return ratio >= 3 && b(getConcP99) < 10 }},
		{name: fmt.Sprintf("manifest GET, %d clients, %s (p99 ms)", k, c.getDuration), val: getConcP99, prec: 2},
		{name: fmt.Sprintf("server RSS growth, %d MiB streamed push (MiB)", c.rssBlobSize/mib), val: rssGrowth, prec: 1,
			target: "< 64 MiB", check: func(_ float64, b func(metric) float64) bool { return b(rssGrowth) < 64 }},
		{name: fmt.Sprintf("blob push, monolithic streamed, %d MiB (MB/s)", c.rssBlobSize/mib), val: func(p *peerResult) float64 { return p.rssMBps }},
		{name: "server CPU time, whole suite (CPU-s)", val: func(p *peerResult) float64 { return p.serverCPU }, prec: 1},
		{name: "other processes' CPU during the suite, incl. kernel writeback (% of all cores)", noRatio: true, val: func(p *peerResult) float64 {
			return 100 * p.otherCPU / (p.wall * float64(runtime.NumCPU()))
		}, prec: 0},
	}
}

func (r *report) markdown() string {
	var sb strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }
	host, _ := os.Hostname()
	p("## berth vs CNCF Distribution\n\n")
	p("- date: %s, host %s, %s/%s, %d CPUs, %s, %s\n", time.Now().UTC().Format(time.RFC3339), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version())
	if r.bins.registry != "" {
		p("- Distribution: `%s` (%s)\n", r.bins.registryVersion, r.bins.registry)
	}
	if r.bins.berth != "" {
		p("- berth: %s\n", r.bins.berthFrom)
	}
	if r.cfg.standinBerth {
		p("\n**NOTE: the berth column is a stand-in (a second Distribution instance); it only exercises the harness.**\n")
	}
	p("- peers run one at a time on 127.0.0.1, fresh data dir each, same client code; MB = 10^6 bytes\n")
	if r.cfg.rounds > 1 {
		p("- %d rounds, peer order alternating each round; every cell is the median over the rounds\n", r.cfg.rounds)
	}
	p("- load average (1/5/15 min) at start: %s, at end: %s; other processes on this machine disturb the numbers\n", r.loadStart, r.loadEnd)
	p("- single-core sha256 (crypto/sha256, %d MiB, best of 3): **%.0f MB/s**\n", r.cfg.blobSize/mib, r.shaMBps)
	p("- loopback ceiling, same client PUTting %d MiB to an in-process server that only sha256-hashes the body: %.0f MB/s\n", r.cfg.blobSize/mib, r.sinkMBps)
	p("- durable disk write, %d MiB to a new file + fsync (berth acknowledges a blob only once it is on disk; Distribution never fsyncs): %.0f MB/s\n\n", r.cfg.blobSize/mib, r.diskMBps)

	d, b := r.results[peerDistribution], r.results[peerBerth]
	cell := func(res []*peerResult, rw row) string {
		if len(res) == 0 {
			return "—"
		}
		return fmt.Sprintf("%.*f", rw.prec, median(res, rw.val))
	}
	berth := func(m metric) float64 { return median(b, m) }
	p("| workload | Distribution | berth | berth/Distribution | target (berth) | result |\n")
	p("|---|---:|---:|---:|---|---|\n")
	met, total := 0, 0
	for _, rw := range r.rows() {
		ratio, ratioS := 0.0, "—"
		if len(d) > 0 && len(b) > 0 && median(d, rw.val) != 0 && !rw.noRatio {
			ratio = median(b, rw.val) / median(d, rw.val)
			ratioS = fmt.Sprintf("%.2fx", ratio)
		}
		result := ""
		if rw.check != nil {
			total++
			switch {
			case len(b) == 0 || len(d) == 0:
				result = "n/a"
			case rw.check(ratio, berth):
				result, met = "PASS", met+1
			default:
				result = "MISS"
			}
		}
		p("| %s | %s | %s | %s | %s | %s |\n", rw.name, cell(d, rw), cell(b, rw), ratioS, rw.target, result)
	}
	if len(d) > 0 && len(b) > 0 {
		p("\ntargets met: %d/%d\n", met, total)
	} else {
		p("\ntargets not evaluated: both peers are needed\n")
	}
	p("\nNotes: RSS is VmRSS of the server process sampled every 20 ms, plus VmHWM after resetting it via clear_refs when permitted" +
		" (measured first, on a fresh process). p99 ratios are latency ratios (lower is better). The pulled blob's digest is verified once per peer" +
		" before the timed pulls; sequential manifest GETs verify every body's digest.\n")
	return sb.String()
}

// median of m over the rounds (the mean of the middle two for even counts).
func median(res []*peerResult, m metric) float64 {
	v := make([]float64, len(res))
	for i, r := range res {
		v[i] = m(r)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "cpu unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "cpu unknown"
}
