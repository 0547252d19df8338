package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	peerDistribution    = "distribution"
	peerBerth           = "berth"
	distributionVersion = "v3.1.2"
	distributionPkg     = "github.com/distribution/distribution/v3/cmd/registry"
)

type binaries struct {
	registry, registryVersion string
	berth, berthFrom          string
	berthArgs                 []string
	s3                        s3Store
	standin                   bool // the berth peer is a second Distribution
}

// resolveBinaries finds (or installs) Distribution and finds (or builds) berth.
func resolveBinaries(ctx context.Context, cfg *config, tmp string, logw io.Writer) (*binaries, error) {
	b := &binaries{berthArgs: cfg.berthArgs, s3: cfg.s3}
	needRegistry := cfg.standinBerth
	for _, p := range cfg.peers {
		needRegistry = needRegistry || p == peerDistribution
	}
	if needRegistry {
		bin, err := findRegistry(ctx, cfg, logw)
		if err != nil {
			return nil, err
		}
		b.registry = bin
		vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := exec.CommandContext(vctx, bin, "--version").Output()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %w", bin, err)
		}
		b.registryVersion = strings.TrimSpace(string(v))
		if !strings.Contains(b.registryVersion, distributionVersion) {
			fmt.Fprintf(logw, "warning: %s is %q, not %s\n", bin, b.registryVersion, distributionVersion)
		}
	}
	if !slices.Contains(cfg.peers, peerBerth) {
		return b, nil
	}
	switch {
	case cfg.standinBerth:
		b.standin = true
		b.berth, b.berthFrom = b.registry, "STAND-IN: a second Distribution instance ("+b.registry+")"
	case cfg.berthBin != "":
		abs, err := filepath.Abs(cfg.berthBin)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("-berth-bin: %w", err)
		}
		b.berth, b.berthFrom = abs, abs
	default:
		srcDir := filepath.Join(cfg.berthSrc, "examples", "server")
		if _, err := os.Stat(srcDir); err != nil {
			return nil, fmt.Errorf("berth reference server not found at %s (use -berth-src, -berth-bin, or -peers distribution): %w", srcDir, err)
		}
		b.berth = filepath.Join(tmp, "berth-server")
		fmt.Fprintf(logw, "building berth server from %s ...\n", srcDir)
		bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(bctx, "go", "build", "-o", b.berth, "./examples/server")
		cmd.Dir, cmd.Stdout, cmd.Stderr = cfg.berthSrc, logw, logw
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building berth server: %w", err)
		}
		b.berthFrom = "built from " + srcDir
	}
	return b, nil
}

func findRegistry(ctx context.Context, cfg *config, logw io.Writer) (string, error) {
	if cfg.registryBin != "" {
		if _, err := os.Stat(cfg.registryBin); err != nil {
			return "", fmt.Errorf("-registry-bin: %w", err)
		}
		return filepath.Abs(cfg.registryBin)
	}
	if p, err := exec.LookPath("registry"); err == nil {
		return filepath.Abs(p)
	}
	gobin := func() string {
		out, err := exec.CommandContext(ctx, "go", "env", "GOBIN", "GOPATH").Output()
		if err != nil {
			return ""
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
			return strings.TrimSpace(lines[0])
		}
		if len(lines) > 1 {
			return filepath.Join(strings.Split(strings.TrimSpace(lines[1]), string(os.PathListSeparator))[0], "bin")
		}
		return ""
	}()
	candidate := filepath.Join(gobin, "registry")
	if _, err := os.Stat(candidate); gobin != "" && err == nil {
		return candidate, nil
	}
	if !cfg.install || gobin == "" {
		return "", errors.New("Distribution registry binary not found; go install " + distributionPkg + "@" + distributionVersion)
	}
	fmt.Fprintf(logw, "installing %s@%s ...\n", distributionPkg, distributionVersion)
	ictx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ictx, "go", "install", distributionPkg+"@"+distributionVersion)
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("installing Distribution: %w", err)
	}
	return candidate, nil
}

// peer is a running registry child process.
type peer struct {
	name, base, dir, logPath string
	cmd                      *exec.Cmd
	logFile                  *os.File
	done                     chan struct{}
	waitErr                  error
	stopOnce                 sync.Once
	stopErr                  error
}

func startPeer(ctx context.Context, name string, bins *binaries, dir string) (*peer, error) {
	return startPeerWith(ctx, name, bins, dir, peerOptions{})
}

// peerOptions adjust how startPeerWith launches a berth peer.
type peerOptions struct {
	berthArgs []string // replace bins.berthArgs when non-nil
	env       []string // added to the environment ("K=V")
	authOn    bool     // the server requires auth: GET /v2/ answers 401 once ready
	debugAddr string   // if set, passed as -debug-addr (pprof)
}

func startPeerWith(ctx context.Context, name string, bins *binaries, dir string, opts peerOptions) (*peer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := &peer{name: name, base: "http://" + addr, dir: dir, logPath: filepath.Join(dir, "server.log"), done: make(chan struct{})}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	var args []string
	bin := bins.berth
	if name == peerDistribution || bins.standin {
		bin = bins.registry
		cfgPath := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgPath, []byte(distributionConfig(dataDir, addr, bins.s3)), 0o600); err != nil {
			return nil, err
		}
		args = []string{"serve", cfgPath}
	} else {
		extra := bins.berthArgs
		if opts.berthArgs != nil {
			extra = opts.berthArgs
		}
		args = append([]string{"-addr", addr, "-data", dataDir}, extra...)
		if opts.debugAddr != "" {
			args = append(args, "-debug-addr", opts.debugAddr)
		}
	}
	if p.logFile, err = os.Create(p.logPath); err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.logFile, p.logFile
	// Distribution's default OpenTelemetry autoexport would try OTLP on
	// localhost:4318; "none" keeps it quiet (its in-process span logger stays).
	p.cmd.Env = append(append(os.Environ(), "OTEL_TRACES_EXPORTER=none"), opts.env...)
	// Own process group so stop can signal the whole tree; Pdeathsig kills
	// the child if this program dies without running its cleanups.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		p.logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	ready := http.StatusOK
	if opts.authOn {
		ready = http.StatusUnauthorized // the /v2/ ping challenges anonymous clients
	}
	if err := p.waitReady(ctx, 60*time.Second, ready); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w\n--- %s log tail ---\n%s", err, name, p.logTail())
	}
	return p, nil
}

// s3Store is an S3-compatible store Distribution runs on (-s3-endpoint).
type s3Store struct{ endpoint, bucket, accessKey, secretKey string }

// distributionConfig mirrors Distribution's default config: filesystem
// storage (or its S3 driver, under a root of its own in the bucket),
// in-memory blob descriptor cache, delete enabled, no auth. Logging is at
// level error with the access log off so no per-request log line is
// written (berth writes none either).
func distributionConfig(root, addr string, s3 s3Store) string {
	store := fmt.Sprintf("  filesystem:\n    rootdirectory: %s\n", root)
	if s3.endpoint != "" {
		store = fmt.Sprintf(`  s3:
    accesskey: %s
    secretkey: %s
    region: us-east-1
    regionendpoint: %s
    forcepathstyle: true
    bucket: %s
    rootdirectory: /distribution-%d
    secure: false
`, s3.accessKey, s3.secretKey, s3.endpoint, s3.bucket, time.Now().UnixNano())
	}
	return fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
%s  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
`, store, addr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (p *peer) waitReady(ctx context.Context, limit time.Duration, want int) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/v2/", nil)
		if resp, err := hc.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before becoming ready: %v", p.name, p.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: GET /v2/ did not answer %d within %s", p.name, want, limit)
		}
	}
}

func (p *peer) pid() int { return p.cmd.Process.Pid }

// alive reports an error if the server process has exited.
func (p *peer) alive() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited unexpectedly: %v", p.name, p.waitErr)
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 5 s.
func (p *peer) stop() error {
	p.stopOnce.Do(func() {
		defer p.logFile.Close()
		select {
		case <-p.done:
			p.stopErr = fmt.Errorf("%s had exited: %v", p.name, p.waitErr)
			return
		default:
		}
		pgid := p.pid()
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p.stopErr
}

func (p *peer) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

// procStatus returns the kB values of the named fields of /proc/<pid>/status.
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !slices.Contains(fields, k) {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", k, err)
		}
		m[k] = n * 1024
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			return nil, fmt.Errorf("/proc/%d/status has no %s", pid, f)
		}
	}
	return m, nil
}

// resetPeakRSS resets VmHWM to the current RSS (Linux >= 4.0, needs
// permission over the process); the caller falls back to sampling if not.
func resetPeakRSS(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// userHZ is the tick rate of /proc CPU counters (USER_HZ, 100 on Linux).
const userHZ = 100

// cpuSnap holds CPU seconds: busy time of the whole machine, of the server
// and of this program, to tell how much other processes disturbed a run.
type cpuSnap struct {
	at                    time.Time
	machine, server, self float64
}

func takeCPUSnap(pid int) (cpuSnap, error) {
	s := cpuSnap{at: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue // idle, iowait
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return s, err
		}
		s.machine += n / userHZ
	}
	if s.server, err = procCPU(strconv.Itoa(pid)); err != nil {
		return s, err
	}
	s.self, err = procCPU("self")
	return s, err
}

// procCPU returns utime+stime of /proc/<pid>/stat in seconds.
func procCPU(pid string) (float64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%s/stat", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (ut + st) / userHZ, nil
}
