package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/scan/adapter"
)

// A scan cut off by a crash (SIGKILL while the scanner works) runs again
// when the server restarts, rather than sitting "running" until River's
// rescuer gives up on it an hour later.
func TestScanSurvivesServerCrashE2E(t *testing.T) {
	dir := t.TempDir()
	s := startScanServer(t, dir)
	release := make(chan struct{})
	var calls atomic.Int32
	slow := &scan.Static{Info: scan.ScannerInfo{Name: "slow", Vendor: "berth-tests", Version: "1"},
		DBVersion: "2025-03-01T00:00:00Z", Vulnerabilities: scanFindings[:1]}
	slow.Check = func(ctx context.Context, _ scan.Request) error {
		calls.Add(1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	adapterSrv := httptest.NewServer(adapter.NewServer(slow, adapter.WithAuthorizer(adapter.RequireToken("tok"))))
	t.Cleanup(adapterSrv.Close)
	s.mustAPI(t, http.MethodPost, "/scanners", api.ScannerRegistrationReq{Name: "slow", URL: adapterSrv.URL, Auth: "Bearer",
		AccessCredential: "tok"}, http.StatusCreated)
	yes := "true"
	s.mustAPI(t, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "crash",
		Metadata: &api.ProjectMetadata{AutoScan: &yes}}, http.StatusCreated)

	ref := s.host + "/crash/app:1"
	out, err := s.tool(t, "crane", "append", "--insecure", "-f", scanLayerTar(t, "crash"), "-t", ref)
	require.NoError(t, err, out)
	out, err = s.tool(t, "crane", "digest", "--insecure", ref)
	require.NoError(t, err, out)
	art := "/projects/crash/repositories/app/artifacts/" + strings.TrimSpace(out)
	waitFor(t, 30*time.Second, "the scanner to be working", func() bool { return calls.Load() >= 1 })

	s.kill()
	close(release)
	s = startScanServerAt(t, dir, s.host)
	r := s.waitReport(t, art)
	require.NotNil(t, r.Overview)
	assert.Equal(t, "Success", r.Overview.ScanStatus)
	assert.Equal(t, 1, r.Summary.Total)
	assert.Contains(t, s.logs.String(), "jobs interrupted by the last shutdown will run again")
}
