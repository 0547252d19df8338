package replicate_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testtool"
	"github.com/berthlabs/berth/replicate"
)

// BenchmarkCopy1GiB replicates 1 GiB of blobs (8 images of one 128 MiB
// layer) between two local berth servers (the reference server,
// examples/server, built and run as processes with auth off, over
// loopback TCP) and, in the same run, copies the same images with crane
// copy to another fresh berth server: once one image at a time,
// once four at a time. Like crane, each image is copied by a process of
// its own (this test binary, re-executed to run one Copier.Copy), so both
// get the same share of a busy machine. It reports both times and their
// ratio (replicate/crane; the target is ≤ 1.3). Iterations alternate
// which copy goes first.
//
//	go test ./replicate -run '^$' -bench Copy1GiB -benchtime 1x
func BenchmarkCopy1GiB(b *testing.B) {
	crane := testtool.Require(b, "crane")
	const images, size = 8, 128 << 20
	server := buildServer(b)
	src := startServerProcess(b, server)
	var refs []string
	for i := range images {
		ref := fmt.Sprintf("bench/img%d:v1", i)
		push(b, src.host, ref, bigImage(b, size, uint64(100+i)))
		refs = append(refs, ref)
	}
	for _, conc := range []int{1, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			var craneTotal, replTotal time.Duration
			iter := 0
			for b.Loop() {
				b.StopTimer()
				dstCrane, dstRepl := startServerProcess(b, server), startServerProcess(b, server)
				b.StartTimer()

				runCrane := func() {
					start := time.Now()
					parallel(b, conc, refs, func(ref string) error {
						out, err := exec.Command(crane, "copy", "--insecure", src.host+"/"+ref, dstCrane.host+"/"+ref).CombinedOutput()
						if err != nil {
							return fmt.Errorf("crane copy %s: %v: %s", ref, err, out)
						}
						return nil
					})
					craneTotal += time.Since(start)
				}
				runRepl := func() {
					start := time.Now()
					parallel(b, conc, refs, func(ref string) error {
						return copyInChild(src.host+"/"+ref, dstRepl.host+"/"+ref)
					})
					replTotal += time.Since(start)
				}
				// Alternate which goes first, so neither always meets a
				// warmer page cache.
				if iter%2 == 0 {
					runCrane()
					runRepl()
				} else {
					runRepl()
					runCrane()
				}
				iter++

				b.StopTimer()
				for _, ref := range refs {
					require.Equal(b, digestAt(b, src.host, ref), digestAt(b, dstRepl.host, ref))
				}
				dstCrane.stop()
				dstRepl.stop()
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(craneTotal.Seconds()/n, "crane-s/op")
			b.ReportMetric(replTotal.Seconds()/n, "replicate-s/op")
			b.ReportMetric(replTotal.Seconds()/craneTotal.Seconds(), "replicate/crane")
			b.ReportMetric(float64(images*size)/(1<<20)/(replTotal.Seconds()/n), "replicate-MiB/s")
		})
	}
}

func splitRef(ref string) (repo, tag string) {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == ':' {
			return ref[:i], ref[i+1:]
		}
	}
	return ref, "latest"
}

// parallel runs f over items, n at a time, failing b on the first error.
func parallel(b *testing.B, n int, items []string, f func(string) error) {
	sem := make(chan struct{}, n)
	errs := make(chan error, len(items))
	for _, it := range items {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- f(it)
		}()
	}
	for range items {
		require.NoError(b, <-errs)
	}
}

// benchOpts reads BENCH_CHUNK_MIB, to compare chunk sizes.
func benchOpts() []replicate.CopyOption {
	if v, err := strconv.Atoi(os.Getenv("BENCH_CHUNK_MIB")); err == nil && v > 0 {
		return []replicate.CopyOption{replicate.WithChunkSize(int64(v) << 20)}
	}
	return nil
}

// copyChildEnv makes the re-executed test binary copy one image and exit.
const copyChildEnv = "BERTH_REPLICATE_BENCH_COPY"

// copyInChild copies src to dst ("host/repo:tag") in a child process.
func copyInChild(src, dst string) error {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), copyChildEnv+"="+src+" "+dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %v: %s", src, err, out)
	}
	return nil
}

func copyChild(spec string) int {
	src, dst, _ := strings.Cut(spec, " ")
	srcHost, srcRef, _ := strings.Cut(src, "/")
	dstHost, dstRef, _ := strings.Cut(dst, "/")
	cp, err := replicate.NewCopier(&replicate.Endpoint{Name: "src", URL: "http://" + srcHost},
		&replicate.Endpoint{Name: "dst", URL: "http://" + dstHost}, benchOpts()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srcRepo, tag := splitRef(srcRef)
	dstRepo, _ := splitRef(dstRef)
	if _, err := cp.Copy(context.Background(), srcRepo, tag, dstRepo, []string{tag}, false); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// buildServer builds the reference server.
func buildServer(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "berth-server")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/berthlabs/berth/examples/server").CombinedOutput()
	require.NoError(b, err, "%s", out)
	return bin
}

// serverProc is a reference server process over a fresh data directory.
type serverProc struct {
	host string
	cmd  *exec.Cmd
	once sync.Once
}

func (s *serverProc) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
}

func startServerProcess(b *testing.B, bin string) *serverProc {
	b.Helper()
	addr := freeAddr(b)
	cmd := exec.Command(bin, "-addr", addr, "-data", b.TempDir(), "-auth=false", "-log-level", "error")
	require.NoError(b, cmd.Start())
	s := &serverProc{host: addr, cmd: cmd}
	b.Cleanup(s.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		require.True(b, time.Now().Before(deadline), "server on %s did not start", addr)
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr picks a free port on 127.0.0.1.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}
