package ui

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// vulnItem is one finding of a report.
type vulnItem struct {
	ID          string   `json:"id"`
	Package     string   `json:"package"`
	Version     string   `json:"version"`
	FixVersion  string   `json:"fix_version"`
	Severity    string   `json:"severity"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Links       []string `json:"links"`
	Allowlisted bool     `json:"allowlisted"`
	CVSS        *struct {
		ScoreV3 float64 `json:"score_v3"`
	} `json:"preferred_cvss"`
}

// Link is where the finding is described: the report's first link, else
// the NVD's page (an external link, not something the page loads).
func (v vulnItem) Link() string {
	for _, l := range v.Links {
		if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
			return l
		}
	}
	return "https://nvd.nist.gov/vuln/detail/" + url.PathEscape(v.ID)
}

// vulnReport is the vulnerabilities addition's report.
type vulnReport struct {
	GeneratedAt time.Time `json:"generated_at"`
	Scanner     struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"scanner"`
	DBVersion string `json:"db_version"`
	Severity  string `json:"severity"`
	Summary   struct {
		Total   int            `json:"total"`
		Fixable int            `json:"fixable"`
		Summary map[string]int `json:"summary"`
	} `json:"summary"`
	Vulnerabilities []vulnItem `json:"vulnerabilities"`
}

// sevOption is a choice of the severity filter.
type sevOption struct{ Name, Key string }

// SevKey is the catalog key of the finding's severity.
func (v vulnItem) SevKey() string { return sevKey(v.Severity) }

// sevSegment is one severity's part of the summary bar (percent of the
// width) and its count.
type sevSegment struct {
	Severity string
	Class    string
	Key      string
	Count    int
	X, Width string
}

// vulnView is the vulnerabilities section: the report (nil when never
// scanned), its findings after the filters, and the filters.
type vulnView struct {
	Report       *vulnReport
	Items        []vulnItem
	Bar          []sevSegment
	Severity     string // a filter: one severity, "" for all
	Fixable      bool
	Package      string
	Sort         string // severity (most severe first) or -severity
	SysAllowlist bool   // the project uses the system allowlist
	Severities   []sevOption
}

// loadVulns reads the report and filters it: the report is the one
// artifact's, so filtering it here reads no more than the page shows.
func loadVulns(s *session, p *project, path string, q url.Values) (*vulnView, error) {
	v := &vulnView{Severity: q.Get("severity"), Fixable: q.Get("fixable") == "true",
		Package: strings.TrimSpace(q.Get("package")), Sort: "severity",
		SysAllowlist: p.Metadata.ReuseSysCVEAllowlist == "true"}
	for _, sev := range severities {
		v.Severities = append(v.Severities, sevOption{sev, sevKey(sev)})
	}
	if q.Get("sort") == "-severity" {
		v.Sort = "-severity"
	}
	if severityRank(v.Severity) == 0 {
		v.Severity = ""
	}
	var reports map[string]*vulnReport
	if _, err := s.api.get(path+"/additions/vulnerabilities", &reports); err != nil {
		return v, err
	}
	for _, r := range reports {
		v.Report = r
	}
	if v.Report == nil {
		return v, nil
	}
	for _, it := range v.Report.Vulnerabilities {
		if (v.Severity == "" || strings.EqualFold(it.Severity, v.Severity)) && (!v.Fixable || it.FixVersion != "") &&
			(v.Package == "" || strings.Contains(strings.ToLower(it.Package), strings.ToLower(v.Package))) {
			v.Items = append(v.Items, it)
		}
	}
	slices.SortStableFunc(v.Items, func(a, b vulnItem) int {
		d := severityRank(b.Severity) - severityRank(a.Severity)
		if v.Sort == "-severity" {
			d = -d
		}
		if d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	v.Bar = severityBar(v.Report.Summary.Summary, v.Report.Summary.Total)
	return v, nil
}

// severityBar lays out the summary's counts side by side.
func severityBar(counts map[string]int, total int) []sevSegment {
	if total <= 0 {
		return nil
	}
	var out []sevSegment
	x := 0.0
	for _, sev := range severities {
		n := counts[sev]
		if n == 0 {
			continue
		}
		w := float64(n) * 100 / float64(total)
		out = append(out, sevSegment{Severity: sev, Class: "sev-" + strings.ToLower(sev), Key: sevKey(sev), Count: n,
			X: fmt.Sprintf("%.2f", x), Width: fmt.Sprintf("%.2f", w)})
		x += w
	}
	return out
}

// FilterLink is the section's URL with one filter changed.
func (v *vulnView) FilterLink(query, key, value string) string {
	q := url.Values{"view": {"vulnerabilities"}}
	if v.Severity != "" {
		q.Set("severity", v.Severity)
	}
	if v.Fixable {
		q.Set("fixable", "true")
	}
	if v.Package != "" {
		q.Set("package", v.Package)
	}
	q.Set("sort", v.Sort)
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	return "?" + query + "&" + q.Encode()
}

// SortNext is the sort the severity header switches to.
func (v *vulnView) SortNext() string {
	if v.Sort == "severity" {
		return "-severity"
	}
	return "severity"
}

// SortState is the severity column's aria-sort.
func (v *vulnView) SortState() string {
	if v.Sort == "severity" {
		return "descending"
	}
	return "ascending"
}
