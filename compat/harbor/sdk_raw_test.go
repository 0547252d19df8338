package harbor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// rawGet gets path under /api/v2.0 as the admin and returns the body of
// a 200 JSON answer.
func rawGet(ctx context.Context, path string, header map[string]string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, serverURL+"/api/v2.0"+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(adminUser, adminPassword)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("GET %s: Content-Type %q, want application/json", path, resp.Header.Get("Content-Type"))
	}
	return body, nil
}

func artifactPath(p proj, repo, ref string) string {
	return "/projects/" + p.name + "/repositories/" + url.PathEscape(repo) + "/artifacts/" + ref
}

// rawVulnerabilities checks the vulnerabilities addition as Harbor
// writes it (its swagger calls it a string; go-client then fails to
// decode the JSON object, goharbor/go-client#41): an object keyed by the
// report's media type, each a report with its scanner, severity and
// vulnerabilities.
func rawVulnerabilities(ctx context.Context, f *fixture) error {
	p, d, err := f.scannedImage(ctx)
	if err != nil {
		return err
	}
	body, err := rawGet(ctx, artifactPath(p, "app", d)+"/additions/vulnerabilities",
		map[string]string{"X-Accept-Vulnerabilities": vulnReportMIME})
	if err != nil {
		return err
	}
	var reports map[string]struct {
		GeneratedAt time.Time `json:"generated_at"`
		Scanner     struct {
			Name, Vendor, Version string
		} `json:"scanner"`
		Severity        string `json:"severity"`
		Vulnerabilities []struct {
			ID          string   `json:"id"`
			Package     string   `json:"package"`
			Version     string   `json:"version"`
			FixVersion  string   `json:"fix_version"`
			Severity    string   `json:"severity"`
			Description string   `json:"description"`
			Links       []string `json:"links"`
		} `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(body, &reports); err != nil {
		return checkf("vulnerabilities addition: %v", err)
	}
	r, ok := reports[vulnReportMIME]
	if !ok {
		return checkf("vulnerabilities addition has no %q report: %.200s", vulnReportMIME, body)
	}
	if r.Scanner.Name == "" || len(r.Vulnerabilities) == 0 || r.Vulnerabilities[0].ID != "CVE-2024-1111" {
		return checkf("vulnerabilities addition lacks the scanner or the CVE found: %.300s", body)
	}
	return nil
}

// rawBuildHistory checks an image's build_history addition as Harbor
// writes it (a JSON array of {created, created_by}; its swagger calls
// every addition a string, which go-client then fails to decode).
func rawBuildHistory(ctx context.Context, f *fixture) error {
	p, d, err := f.image(ctx)
	if err != nil {
		return err
	}
	body, err := rawGet(ctx, artifactPath(p, "app", d)+"/additions/build_history", nil)
	if err != nil {
		return err
	}
	var history []struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	}
	if err := json.Unmarshal(body, &history); err != nil {
		return checkf("build_history addition: %v", err)
	}
	return nil
}
