package ui

// scanSummary is an artifact's scan overview as the API gives it.
type scanSummary struct {
	ScanStatus string `json:"scan_status"`
	Severity   string `json:"severity"`
	Summary    *struct {
		Total   int            `json:"total"`
		Fixable int            `json:"fixable"`
		Summary map[string]int `json:"summary"`
	} `json:"summary"`
}

// State is the catalog key of the scan's state when there is no report
// to show ("" when there is).
func (s *scanSummary) State() string {
	switch s.ScanStatus {
	case "Pending", "Running":
		return "art.scan.running"
	case "Error":
		return "art.scan.error"
	case "Stopped":
		return "art.scan.stopped"
	}
	if s.Summary == nil {
		return "art.scan.none"
	}
	return ""
}

// summarySeverities are the severity names of the API's summary, worst first,
// with their catalog keys and CSS classes.
var summarySeverities = [...][3]string{
	{"Critical", "art.sev.critical", "critical"}, {"High", "art.sev.high", "high"},
	{"Medium", "art.sev.medium", "medium"}, {"Low", "art.sev.low", "low"},
	{"Negligible", "art.sev.negligible", "negligible"}, {"Unknown", "art.sev.unknown", "unknown"},
}

// sevCount is one severity of a summary: its count and its segment of
// the severity bar (an SVG rect: the CSP forbids style attributes).
type sevCount struct {
	Key, Class string
	N          int
	X, W       int
}

// barWidth is the severity bar's width in SVG units.
const barWidth = 120

// Counts are the non-zero summarySeverities, worst first, laid out on the bar.
func (s *scanSummary) Counts() []sevCount {
	if s.Summary == nil || s.Summary.Total <= 0 {
		return nil
	}
	total := 0
	for _, sev := range summarySeverities {
		total += s.Summary.Summary[sev[0]]
	}
	if total == 0 {
		return nil
	}
	var out []sevCount
	x := 0
	for _, sev := range summarySeverities {
		n := s.Summary.Summary[sev[0]]
		if n <= 0 {
			continue
		}
		w := max(n*barWidth/total, 2)
		out = append(out, sevCount{Key: sev[1], Class: sev[2], N: n, X: x, W: w})
		x += w
	}
	// The last segment takes what rounding left over.
	out[len(out)-1].W = max(barWidth-out[len(out)-1].X, 2)
	return out
}

// Total is the number of vulnerabilities found.
func (s *scanSummary) Total() int {
	if s.Summary == nil {
		return 0
	}
	return s.Summary.Total
}

// Fixable is how many have a fix.
func (s *scanSummary) Fixable() int {
	if s.Summary == nil {
		return 0
	}
	return s.Summary.Fixable
}
