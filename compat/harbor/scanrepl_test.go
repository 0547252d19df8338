package harbor_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	rtclient "github.com/go-openapi/runtime/client"
	harbor "github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/registry"
	scanapi "github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan_all"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan_data_export"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/securityhub"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// scanServer starts a berth server of its own with scanning on and a
// static built-in scanner (the shared one scans nothing); it returns the
// registry's host and a go-client for it.
func scanServer(t *testing.T) (string, *harbor.HarborAPI) {
	t.Helper()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	host := hs.Listener.Addr().String()
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", adminPassword, "http://"+host
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled = true, false, false
	static := &scan.Static{DBVersion: "2026-01-01T00:00:00Z", Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2024-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.2", Severity: scan.Critical,
			Description: "=cmd|' /C calc'!A0", CVSS: &scan.CVSS{ScoreV3: 9.8}},
		{ID: "CVE-2024-0002", Package: "zlib", Version: "1.2", Severity: scan.High},
	}}
	builtin := func(context.Context, *server.Assembly) (string, scan.Scanner, scan.SBOMGenerator, error) {
		return "static", static, nil, nil
	}
	srv, err := server.New(t.Context(), cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithBuiltinScanner(builtin), server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close(context.Background())
	})
	u, err := url.Parse(hs.URL + harbor.DefaultBasePath)
	require.NoError(t, err)
	return host, harbor.New(harbor.Config{URL: u, AuthInfo: rtclient.BasicAuth(adminUser, adminPassword)})
}

// go-client reads the security hub, scan data exports, scan-all metrics,
// scanner candidates and registry information as berth serves them.
func TestScanDataExportAndSecurityHub(t *testing.T) {
	host, c := scanServer(t)
	ctx := t.Context()
	public := false
	_, err := c.Project.CreateProject(ctx, project.NewCreateProjectParams().
		WithProject(&models.ProjectReq{ProjectName: "sec", Public: &public}))
	require.NoError(t, err)
	got, err := c.Project.GetProject(ctx, project.NewGetProjectParams().WithProjectNameOrID("sec"))
	require.NoError(t, err)
	pid := int64(got.Payload.ProjectID)

	img, err := random.Image(256, 1)
	require.NoError(t, err)
	ref, err := name.NewTag(host+"/sec/app:1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remoteAuth()))
	d := digestOf(t, img)
	_, err = c.Scan.ScanArtifact(ctx, scanapi.NewScanArtifactParams().WithProjectName("sec").WithRepositoryName("app").
		WithReference(d))
	require.NoError(t, err)

	var sum *models.SecuritySummary
	eventually(t, 10*time.Second, "the scan's report", func() bool {
		s, err := c.Securityhub.GetSecuritySummary(ctx, securityhub.NewGetSecuritySummaryParams().
			WithWithDangerousCVE(ptr(true)).WithWithDangerousArtifact(ptr(true)))
		require.NoError(t, err)
		sum = s.Payload
		return sum.ScannedCnt == 1
	})
	assert.Equal(t, int64(1), sum.TotalArtifact)
	assert.Equal(t, int64(2), sum.TotalVuls)
	assert.Equal(t, int64(1), sum.CriticalCnt)
	assert.Equal(t, int64(1), sum.HighCnt)
	assert.Equal(t, int64(1), sum.FixableCnt)
	require.Len(t, sum.DangerousCves, 1)
	assert.Equal(t, "CVE-2024-0001", sum.DangerousCves[0].CVEID)
	assert.InDelta(t, 9.8, sum.DangerousCves[0].CvssScoreV3, 0.001)
	require.Len(t, sum.DangerousArtifacts, 1)
	assert.Equal(t, d, sum.DangerousArtifacts[0].Digest)
	assert.Equal(t, pid, sum.DangerousArtifacts[0].ProjectID)

	vs, err := c.Securityhub.ListVulnerabilities(ctx, securityhub.NewListVulnerabilitiesParams().
		WithQ(ptr("severity=Critical,project_id="+itoa(pid))).WithWithTag(ptr(true)).WithPage(ptr(int64(1))).WithPageSize(ptr(int64(10))))
	require.NoError(t, err)
	require.Len(t, vs.Payload, 1)
	assert.Equal(t, "CVE-2024-0001", vs.Payload[0].CVEID)
	assert.Equal(t, "sec/app", vs.Payload[0].RepositoryName)
	assert.Equal(t, []string{"1"}, vs.Payload[0].Tags)
	assert.Equal(t, "3.0.2", vs.Payload[0].FixedVersion)

	// Export, read the execution, list, download.
	job, err := c.ScanDataExport.ExportScanData(ctx, scan_data_export.NewExportScanDataParams().
		WithXScanDataType("application/vnd.security.vulnerability.report; version=1.1").
		WithCriteria(&models.ScanDataExportRequest{JobName: "all", Projects: []int64{pid}, Labels: []int64{}}))
	require.NoError(t, err)
	require.Positive(t, job.Payload.ID)
	x, err := c.ScanDataExport.GetScanDataExportExecution(ctx, scan_data_export.NewGetScanDataExportExecutionParams().
		WithExecutionID(job.Payload.ID))
	require.NoError(t, err)
	assert.Equal(t, "Success", x.Payload.Status)
	assert.True(t, x.Payload.FilePresent)
	assert.Equal(t, adminUser, x.Payload.UserName)
	list, err := c.ScanDataExport.GetScanDataExportExecutionList(ctx, scan_data_export.NewGetScanDataExportExecutionListParams())
	require.NoError(t, err)
	require.Len(t, list.Payload.Items, 1)
	var buf bytes.Buffer
	_, err = c.ScanDataExport.DownloadScanData(ctx, scan_data_export.NewDownloadScanDataParams().WithExecutionID(job.Payload.ID), &buf)
	require.NoError(t, err)
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.Equal(t, []string{"sec", "sec/app", d, "1", "CVE-2024-0001", "openssl", "3.0.1", "3.0.2", "Critical", "9.8", "", "",
		"'=cmd|' /C calc'!A0"}, rows[1], "a formula in a description is written as text")

	// Scan-all metrics: none scheduled yet; Harbor's Stats shape.
	m, err := c.ScanAll.GetLatestScheduledScanAllMetrics(ctx, scan_all.NewGetLatestScheduledScanAllMetricsParams())
	require.NoError(t, err)
	assert.Equal(t, int64(0), m.Payload.Total)
	assert.False(t, m.Payload.Ongoing)

	cands, err := c.Project.ListScannerCandidatesOfProject(ctx, project.NewListScannerCandidatesOfProjectParams().
		WithProjectNameOrID("sec"))
	require.NoError(t, err)
	require.Len(t, cands.Payload, 1)
	assert.Equal(t, "static", cands.Payload[0].Name)

	info, err := c.Registry.GetRegistryInfo(ctx, registry.NewGetRegistryInfoParams().WithID(0))
	require.NoError(t, err)
	assert.Equal(t, "harbor", info.Payload.Type)
	assert.Contains(t, info.Payload.SupportedTriggers, "event_based")
	infos, err := c.Registry.ListRegistryProviderInfos(ctx, registry.NewListRegistryProviderInfosParams())
	require.NoError(t, err)
	require.Contains(t, infos.Payload, "docker-hub")
	assert.Equal(t, "EndpointPatternTypeFix", infos.Payload["docker-hub"].EndpointPattern.EndpointType)
}
