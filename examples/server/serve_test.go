package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	r := s.do(http.MethodGet, "/healthz", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "ok\n", string(r.body))
	r = s.do(http.MethodGet, "/v2/", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "registry/2.0", r.header.Get("Docker-Distribution-API-Version"))
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	const repo = "metrics/test"
	s.do(http.MethodGet, "/v2/", nil)
	s.do(http.MethodGet, "/v2/"+repo+"/manifests/latest", nil)

	requests := func(route, method, code string) func(map[string]*dto.MetricFamily) float64 {
		return func(mfs map[string]*dto.MetricFamily) float64 {
			return metricValue(mfs, "berth_http_requests_total", map[string]string{"route": route, "method": method, "code": code})
		}
	}
	bytesIn := func(route, method string) func(map[string]*dto.MetricFamily) float64 {
		return func(mfs map[string]*dto.MetricFamily) float64 {
			return metricValue(mfs, "berth_http_request_bytes_total", map[string]string{"route": route, "method": method})
		}
	}
	bytesOut := func(route, method string) func(map[string]*dto.MetricFamily) float64 {
		return func(mfs map[string]*dto.MetricFamily) float64 {
			return metricValue(mfs, "berth_http_response_bytes_total", map[string]string{"route": route, "method": method})
		}
	}

	// Counters move after the response is written: poll until they do.
	s.eventually(requests("base", "GET", "200"), 1)
	s.eventually(requests("manifests", "GET", "404"), 1)
	mfs := s.scrape()
	family := mfs["berth_http_requests_total"]
	require.NotNil(t, family)
	require.Equal(t, dto.MetricType_COUNTER, family.GetType())
	for _, m := range family.GetMetric() {
		var names []string
		for _, l := range m.GetLabel() {
			names = append(names, l.GetName())
		}
		assert.ElementsMatch(t, []string{"route", "method", "code"}, names)
	}

	blob := randomBytes(1<<20 + 123)
	in0, out0 := bytesIn("uploads", "POST")(mfs), bytesOut("blobs", "GET")(mfs)
	d := s.pushBlob(repo, blob)
	s.eventually(requests("uploads", "POST", "201"), 1)
	s.eventually(bytesIn("uploads", "POST"), in0+float64(len(blob)))
	s.requireBlob(repo, d, blob)
	s.eventually(requests("blobs", "GET", "200"), 1)
	s.eventually(bytesOut("blobs", "GET"), out0+float64(len(blob)))
}

// eventually polls /metrics until value reports want, and requires it.
func (s *serverProc) eventually(value func(map[string]*dto.MetricFamily) float64, want float64) {
	s.t.Helper()
	var got float64
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got = value(s.scrape()); got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(s.t, want, got)
}

// SIGTERM stops accepting connections, lets an in-flight request finish,
// and exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, data)
	const repo = "shutdown/test"
	blob := randomBytes(2 << 20)
	loc := s.startUpload(repo)

	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, s.URL+loc, pr)
	require.NoError(t, err)
	req.ContentLength = int64(len(blob))
	req.Header.Set("Content-Type", "application/octet-stream")
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := s.client.Do(req)
		done <- result{resp, err}
	}()
	written := make(chan error, 1)
	go func() {
		_, err := pw.Write(blob[:len(blob)*3/4])
		written <- err
	}()
	dataFile := filepath.Join(data, "storage", "uploads", path.Base(loc), "data")
	waitFor(t, time.Minute, "the request is being handled", func() bool {
		fi, err := os.Stat(dataFile)
		return err == nil && fi.Size() > 0
	})

	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	waitFor(t, exitTimeout, "the server refuses new connections", func() bool {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	time.Sleep(200 * time.Millisecond)
	require.False(t, s.exited(), "the server waits for the in-flight request")

	select {
	case err := <-written:
		require.NoError(t, err)
	case <-time.After(exitTimeout):
		t.Fatal("the first part of the body was not sent")
	}
	_, err = pw.Write(blob[len(blob)*3/4:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	var res result
	select {
	case res = <-done:
	case <-time.After(exitTimeout):
		t.Fatal("the in-flight request was not answered")
	}
	require.NoError(t, res.err)
	res.resp.Body.Close()
	require.Equal(t, http.StatusAccepted, res.resp.StatusCode)
	require.Equal(t, "0-"+strconv.Itoa(len(blob)-1), res.resp.Header.Get("Range"), "the whole chunk was stored")

	require.Equal(t, 0, s.waitExit(), "exit status after SIGTERM")
	assert.True(t, bytes.Contains([]byte(s.logs.String()), []byte(`"msg":"shutting down"`)))

	// The acknowledged chunk survives, and the upload completes after a restart.
	s = startServer(t, data)
	r := s.do(http.MethodGet, loc, nil)
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	require.Equal(t, "0-"+strconv.Itoa(len(blob)-1), r.header.Get("Range"))
}

// Without a subcommand the server takes flags only.
func TestServeRejectsArguments(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	assert.Equal(t, 2, cli([]string{"-data", t.TempDir(), "chek"}, io.Discard, &stderr))
	assert.Contains(t, stderr.String(), `unexpected argument "chek"`)
	stderr.Reset()
	assert.Equal(t, 2, cli([]string{"-log-level", "loud", "-data", t.TempDir()}, io.Discard, &stderr))
	assert.Equal(t, 0, cli([]string{"-h"}, io.Discard, io.Discard))
}

// One process owns a data directory: a second server or a check while the
// server runs is refused with a clear message instead of sharing the
// database behind the first one's cache.
func TestDataDirLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, dir)

	code, _ := runCheck(t, dir)
	assert.Equal(t, 1, code, "check refuses a directory in use")

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := serverCmd(ctx, t, "-addr", "127.0.0.1:0", "-data", dir).CombinedOutput()
	require.Error(t, err, "a second server on the same directory must not start")
	assert.Contains(t, string(out), "in use by another berth process")

	s.stop()
	code, _ = runCheck(t, dir)
	assert.Equal(t, 0, code, "after the server stops the directory is free")
}
