package harbor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan_all"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan_data_export"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scanner"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/securityhub"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// scanCalls: the scan, scanAll, scanner, scan data export and
// securityhub tags. The server scans with a static scanner that finds
// one CVE in every image.
func scanCalls() map[string]sdkCall {
	withScanned := func(call func(ctx context.Context, f *fixture, p proj, d string) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			p, d, err := f.scannedImage(ctx)
			if err != nil {
				return err
			}
			return call(ctx, f, p, d)
		}
	}
	withScanner := func(call func(ctx context.Context, f *fixture, uuid string) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			uuid, err := once(ctx, f, "scanner registration", f.createScanner)
			if err != nil {
				return err
			}
			return call(ctx, f, uuid)
		}
	}
	withExport := func(call func(ctx context.Context, f *fixture, id int64) error) sdkCall {
		return func(ctx context.Context, f *fixture) error {
			id, err := once(ctx, f, "scan data export", f.exportScanData)
			if err != nil {
				return err
			}
			return call(ctx, f, id)
		}
	}
	return map[string]sdkCall{
		"scanArtifact": func(ctx context.Context, f *fixture) error {
			p, d, err := f.image(ctx)
			if err != nil {
				return err
			}
			_, err = f.c.Scan.ScanArtifact(ctx, scan.NewScanArtifactParams().WithProjectName(p.name).WithRepositoryName("app").
				WithReference(d).WithScanType(&models.ScanType{ScanType: "vulnerability"}))
			return err
		},
		"stopScanArtifact": func(ctx context.Context, f *fixture) error { return f.stopRunningScan(ctx) },
		"getReportLog": withScanned(func(ctx context.Context, f *fixture, p proj, d string) error {
			id, err := f.reportID(ctx, p, d)
			if err != nil {
				return err
			}
			_, err = f.c.Scan.GetReportLog(ctx, scan.NewGetReportLogParams().WithProjectName(p.name).WithRepositoryName("app").
				WithReference(d).WithReportID(id))
			return err
		}),

		"createScanAllSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.ScanAll.CreateScanAllSchedule(ctx, scan_all.NewCreateScanAllScheduleParams().
				WithSchedule(&models.Schedule{Schedule: cronSchedule("0 0 1 * * *")}))
			return err
		},
		"updateScanAllSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.ScanAll.UpdateScanAllSchedule(ctx, scan_all.NewUpdateScanAllScheduleParams().
				WithSchedule(&models.Schedule{Schedule: cronSchedule("0 30 1 * * *")}))
			return err
		},
		"getScanAllSchedule": func(ctx context.Context, f *fixture) error {
			_, err := f.c.ScanAll.GetScanAllSchedule(ctx, scan_all.NewGetScanAllScheduleParams())
			return err
		},
		"getLatestScanAllMetrics": func(ctx context.Context, f *fixture) error {
			_, err := f.c.ScanAll.GetLatestScanAllMetrics(ctx, scan_all.NewGetLatestScanAllMetricsParams())
			return err
		},
		"getLatestScheduledScanAllMetrics": func(ctx context.Context, f *fixture) error {
			_, err := f.c.ScanAll.GetLatestScheduledScanAllMetrics(ctx, scan_all.NewGetLatestScheduledScanAllMetricsParams())
			return err
		},
		"stopScanAll": func(ctx context.Context, f *fixture) error { return f.stopRunningScanAll(ctx) },

		"listScanners": func(ctx context.Context, f *fixture) error {
			_, err := f.defaultScanner(ctx)
			return err
		},
		"createScanner": func(ctx context.Context, f *fixture) error {
			_, err := f.createScanner(ctx)
			return err
		},
		"pingScanner": func(ctx context.Context, f *fixture) error {
			_, err := f.c.Scanner.PingScanner(ctx, scanner.NewPingScannerParams().WithSettings(&models.ScannerRegistrationSettings{
				Name: ptr("fake"), URL: ptr(strfmt.URI(f.adapter.URL))}))
			return err
		},
		"getScanner": withScanner(func(ctx context.Context, f *fixture, uuid string) error {
			_, err := f.c.Scanner.GetScanner(ctx, scanner.NewGetScannerParams().WithRegistrationID(uuid))
			return err
		}),
		"getScannerMetadata": withScanner(func(ctx context.Context, f *fixture, uuid string) error {
			_, err := f.c.Scanner.GetScannerMetadata(ctx, scanner.NewGetScannerMetadataParams().WithRegistrationID(uuid))
			return err
		}),
		"updateScanner": withScanner(func(ctx context.Context, f *fixture, uuid string) error {
			_, err := f.c.Scanner.UpdateScanner(ctx, scanner.NewUpdateScannerParams().WithRegistrationID(uuid).
				WithRegistration(&models.ScannerRegistrationReq{Name: ptr("sdk-fake-renamed"), URL: ptr(strfmt.URI(f.adapter.URL)),
					Description: "updated"}))
			return err
		}),
		"setScannerAsDefault": func(ctx context.Context, f *fixture) error {
			uuid, err := f.defaultScanner(ctx)
			if err != nil {
				return setup("listScanners", err)
			}
			_, err = f.c.Scanner.SetScannerAsDefault(ctx, scanner.NewSetScannerAsDefaultParams().WithRegistrationID(uuid).
				WithPayload(&models.IsDefault{IsDefault: true}))
			return err
		},
		"deleteScanner": func(ctx context.Context, f *fixture) error {
			uuid, err := f.createScanner(ctx)
			if err != nil {
				return setup("createScanner", err)
			}
			_, err = f.c.Scanner.DeleteScanner(ctx, scanner.NewDeleteScannerParams().WithRegistrationID(uuid))
			return err
		},

		"exportScanData": func(ctx context.Context, f *fixture) error {
			_, err := f.exportScanData(ctx)
			return err
		},
		"getScanDataExportExecutionList": withExport(func(ctx context.Context, f *fixture, _ int64) error {
			_, err := f.c.ScanDataExport.GetScanDataExportExecutionList(ctx, scan_data_export.NewGetScanDataExportExecutionListParams())
			return err
		}),
		"getScanDataExportExecution": withExport(func(ctx context.Context, f *fixture, id int64) error {
			_, err := f.c.ScanDataExport.GetScanDataExportExecution(ctx, scan_data_export.NewGetScanDataExportExecutionParams().
				WithExecutionID(id))
			return err
		}),
		"downloadScanData": withExport(func(ctx context.Context, f *fixture, id int64) error {
			var buf bytes.Buffer
			_, err := f.c.ScanDataExport.DownloadScanData(ctx, scan_data_export.NewDownloadScanDataParams().WithExecutionID(id), &buf)
			if err == nil && !strings.Contains(buf.String(), "CVE-2024-1111") {
				return checkf("the CSV does not name the CVE found: %.200q", buf.String())
			}
			return err
		}),

		"getSecuritySummary": withScanned(func(ctx context.Context, f *fixture, _ proj, _ string) error {
			_, err := f.c.Securityhub.GetSecuritySummary(ctx, securityhub.NewGetSecuritySummaryParams().
				WithWithDangerousCVE(ptr(true)).WithWithDangerousArtifact(ptr(true)))
			return err
		}),
		"ListVulnerabilities": withScanned(func(ctx context.Context, f *fixture, _ proj, _ string) error {
			got, err := f.c.Securityhub.ListVulnerabilities(ctx, securityhub.NewListVulnerabilitiesParams().
				WithQ(ptr("cve_id=CVE-2024-1111")).WithWithTag(ptr(true)))
			if err == nil && len(got.Payload) == 0 {
				return checkf("the CVE found is not listed")
			}
			return err
		}),
	}
}

// scannedImage is image() once its vulnerability scan has succeeded.
func (f *fixture) scannedImage(ctx context.Context) (proj, string, error) {
	p, d, err := f.image(ctx)
	if err != nil {
		return p, d, err
	}
	_, err = once(ctx, f, "scan", func(ctx context.Context) (bool, error) {
		if _, err := f.c.Scan.ScanArtifact(ctx, scan.NewScanArtifactParams().WithProjectName(p.name).WithRepositoryName("app").
			WithReference(d).WithScanType(&models.ScanType{ScanType: "vulnerability"})); err != nil {
			return false, fmt.Errorf("scanArtifact: %w", err)
		}
		return true, f.scanEnded(ctx, p, d, true)
	})
	return p, d, err
}

// scanEnded waits until the last scan of p's artifact d has ended, and,
// with success, until it succeeded.
func (f *fixture) scanEnded(ctx context.Context, p proj, d string, success bool) error {
	return poll(ctx, "a finished scan", func() (bool, error) {
		got, err := f.c.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(p.name).
			WithRepositoryName("app").WithReference(d).WithWithScanOverview(ptr(true)))
		if err != nil {
			return false, fmt.Errorf("getArtifact: %w", err)
		}
		for _, s := range got.Payload.ScanOverview {
			switch s.ScanStatus {
			case "Success":
				return true, nil
			case "Error", "Stopped":
				if success {
					return false, fmt.Errorf("scan %s", s.ScanStatus)
				}
				return true, nil
			}
		}
		return false, nil
	})
}

// reportID is the id of the vulnerability report of p's artifact d.
func (f *fixture) reportID(ctx context.Context, p proj, d string) (string, error) {
	got, err := f.c.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(p.name).
		WithRepositoryName("app").WithReference(d).WithWithScanOverview(ptr(true)))
	if err != nil {
		return "", setup("getArtifact", err)
	}
	for _, s := range got.Payload.ScanOverview {
		if s.ReportID != "" {
			return s.ReportID, nil
		}
	}
	return "", setup("getArtifact", errors.New("the scan overview names no report_id"))
}

// defaultScanner is the uuid of the default scanner registration.
func (f *fixture) defaultScanner(ctx context.Context) (string, error) {
	list, err := f.c.Scanner.ListScanners(ctx, scanner.NewListScannersParams())
	if err != nil {
		return "", err
	}
	for _, s := range list.Payload {
		if s.IsDefault != nil && *s.IsDefault {
			return s.UUID, nil
		}
	}
	return "", checkf("no default scanner among %d", len(list.Payload))
}

// createScanner registers the fake adapter and returns the uuid.
func (f *fixture) createScanner(ctx context.Context) (string, error) {
	created, err := f.c.Scanner.CreateScanner(ctx, scanner.NewCreateScannerParams().WithRegistration(&models.ScannerRegistrationReq{
		Name: ptr(f.unique("sdk-fake")), URL: ptr(strfmt.URI(f.adapter.URL)), Description: "answers its metadata only"}))
	if err != nil {
		return "", err
	}
	uuid := created.Location[strings.LastIndex(created.Location, "/")+1:]
	if uuid == "" {
		return "", checkf("location %q names no registration", created.Location)
	}
	return uuid, nil
}

// exportScanData exports project()'s vulnerabilities as CSV and waits
// for the execution to end; it returns the execution id.
func (f *fixture) exportScanData(ctx context.Context) (int64, error) {
	p, _, err := f.scannedImage(ctx)
	if err != nil {
		return 0, err
	}
	job, err := f.c.ScanDataExport.ExportScanData(ctx, scan_data_export.NewExportScanDataParams().
		WithXScanDataType(vulnReportMIME).WithCriteria(&models.ScanDataExportRequest{
		JobName: "sdk", Projects: []int64{p.id}}))
	if err != nil {
		return 0, err
	}
	id := job.Payload.ID
	err = poll(ctx, "a finished export", func() (bool, error) {
		got, err := f.c.ScanDataExport.GetScanDataExportExecution(ctx, scan_data_export.NewGetScanDataExportExecutionParams().
			WithExecutionID(id))
		if err != nil {
			return false, err
		}
		return finished(got.Payload.Status), nil
	})
	return id, err
}
