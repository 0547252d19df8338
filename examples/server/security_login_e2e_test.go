package main

// End-to-end checks of the failed-login finding against the real server:
// a flood of wrong passwords from many addresses neither exhausts memory
// nor locks a user out of their own account.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (any of 127.0.0.0/8 works on Linux), so one test can play
// many clients.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}}
}

// tokenLogin asks the token endpoint for a pull token with Basic
// credentials and returns the status.
func (s *serverProc) tokenLogin(t *testing.T, c *http.Client, user, pass string) int {
	t.Helper()
	q := url.Values{"service": {"berth"}, "scope": {"repository:alpha/app:pull"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/service/token?"+q.Encode(), nil)
	require.NoError(t, err)
	req.SetBasicAuth(user, pass)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// rssOf reads a process's resident and peak resident memory in bytes.
func rssOf(t *testing.T, pid int) (rss, peak int64) {
	t.Helper()
	st, err := procStatus(pid, "VmRSS", "VmHWM")
	require.NoError(t, err)
	return st["VmRSS"], st["VmHWM"]
}

// 500 concurrent wrong passwords from 10 addresses: the server's memory
// stays bounded (argon2id costs 19 MiB a hash), floods from one address
// are cut off with 429 + Retry-After, and a user logging in from where
// they last did gets in meanwhile.
func TestSecurityFailedLoginFloodBoundsMemory(t *testing.T) {
	s := startSecureServer(t)
	s.createPrivateProject(t, "alpha")
	const alicePass, aliceNew = "alice-password-1", "alice-password-2"
	s.addDeveloper(t, "alice", alicePass, "alpha", "")
	s.addDeveloper(t, "bob", "bob-password-1", "alpha", "")
	home := clientFrom("127.0.1.1")
	require.Equal(t, http.StatusOK, s.tokenLogin(t, home, "alice", alicePass), "alice logs in from home")
	// A new password: her credentials are no longer in the server's
	// cache of recent logins, so the next login hashes like any other.
	s.mustAdminAPI(t, http.MethodPut, "/users/alice/password", api.PasswordReq{NewPassword: aliceNew}, http.StatusOK)

	pid := s.cmd.Process.Pid
	before, _ := rssOf(t, pid)
	heapBefore := s.heapSys(t)
	const addrs, perAddr = 10, 50
	var mu sync.Mutex
	statuses := map[int]int{}
	retryAfter := 0
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for a := range addrs {
		c := clientFrom(fmt.Sprintf("127.0.0.%d", a+2))
		for i := range perAddr {
			wg.Go(func() {
				<-ready
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v2/", nil)
				req.SetBasicAuth(fmt.Sprintf("guess-%d-%d", a, i), "wrong-password")
				resp, err := c.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.Header.Get("Retry-After") != "" {
					retryAfter++
				}
				mu.Unlock()
			})
		}
	}
	close(ready)
	time.Sleep(200 * time.Millisecond) // the flood is queued on the hashes
	start := time.Now()
	aliceStatus := s.tokenLogin(t, home, "alice", aliceNew)
	aliceTook := time.Since(start)
	wg.Wait()
	after, peak := rssOf(t, pid)
	heapAfter := s.heapSys(t)

	t.Logf("RSS before %d MiB, peak %d MiB, after %d MiB; Go heap from the OS %d -> %d MiB; alice's login during the flood: %v; statuses %v",
		before>>20, peak>>20, after>>20, heapBefore>>20, heapAfter>>20, aliceTook, statuses)
	assert.Equal(t, http.StatusOK, aliceStatus, "alice logs in during the flood")
	// The Go heap is what the hashes take; the race detector's shadow
	// memory (several times the heap) is outside it, so RSS is held to the
	// bound only in builds without the detector.
	assert.Less(t, heapAfter-heapBefore, int64(256<<20), "500 failed logins add less than 256 MiB of heap")
	if !raceDetector {
		assert.Less(t, peak-before, int64(256<<20), "500 failed logins add less than 256 MiB RSS")
	}
	assert.Equal(t, addrs*perAddr, statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests], "%v", statuses)
	assert.Positive(t, statuses[http.StatusTooManyRequests], "floods from one address are throttled")
	assert.Equal(t, statuses[http.StatusTooManyRequests], retryAfter, "every 429 says when to retry")
	assert.LessOrEqual(t, statuses[http.StatusUnauthorized], addrs*40, "at most 40 attempts per clean address reach the hash at once")

	// An address guessing one at a time gets ten free failures, then waits
	// a delay that doubles, even for a right password not checked lately;
	// it is never locked out: after Retry-After, bob gets in from it.
	c := clientFrom("127.0.0.200")
	try := func(user, pass string) (int, int) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/v2/", nil)
		req.SetBasicAuth(user, pass)
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return resp.StatusCode, wait
	}
	for i := range 10 {
		status, _ := try(fmt.Sprintf("guess-%d", i), "wrong")
		require.Equal(t, http.StatusUnauthorized, status, "free failure %d", i)
	}
	status, wait := try("bob", "bob-password-1")
	require.Equal(t, http.StatusTooManyRequests, status, "the next attempt comes too early")
	require.Equal(t, 1, wait, "the first delay")
	time.Sleep(time.Duration(wait) * time.Second)
	status, _ = try("guess-10", "wrong")
	require.Equal(t, http.StatusUnauthorized, status)
	status, wait = try("bob", "bob-password-1")
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, 2, wait, "the delay doubled")
	time.Sleep(time.Duration(wait) * time.Second)
	status, _ = try("bob", "bob-password-1")
	assert.Equal(t, http.StatusOK, status, "bob gets in once the delay has passed")
}

// procStatus reads the kB fields of /proc/<pid>/status, in bytes.
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(fields, k) {
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", k, v, err)
		}
		out[k] = kb << 10
	}
	if len(out) != len(fields) {
		return nil, fmt.Errorf("/proc/%d/status lacks some of %v", pid, fields)
	}
	return out, nil
}

// heapSys is the memory the server's Go heap holds from the OS
// (go_memstats_heap_sys_bytes): it does not shrink at once after a peak.
func (s *serverProc) heapSys(t *testing.T) int64 {
	t.Helper()
	r := s.do(http.MethodGet, "/metrics", nil, basicAuth("admin", e2eAdminPassword)...)
	require.Equal(t, http.StatusOK, r.status)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	require.NoError(t, err)
	mf := mfs["go_memstats_heap_sys_bytes"]
	require.NotNil(t, mf)
	return int64(mf.GetMetric()[0].GetGauge().GetValue())
}
