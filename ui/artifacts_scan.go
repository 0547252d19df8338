package ui

import "strings"

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

// sevCount is one severity of a summary: its count and its segment of
// the severity bar (an SVG rect: the CSP forbids style attributes).
type sevCount struct {
	Key, Class string
	N          int
	X, W       int
}

// barWidth is the severity bar's width in SVG units.
const barWidth = 120

// Counts are the non-zero severities, worst first, laid out on the bar.
func (s *scanSummary) Counts() []sevCount {
	if s.Summary == nil || s.Summary.Total <= 0 {
		return nil
	}
	total := 0
	for _, sev := range severities {
		total += s.Summary.Summary[sev]
	}
	if total == 0 {
		return nil
	}
	var out []sevCount
	x := 0
	for _, sev := range severities {
		n := s.Summary.Summary[sev]
		if n <= 0 {
			continue
		}
		w := max(n*barWidth/total, 2)
		out = append(out, sevCount{Key: sevKey(sev), Class: strings.ToLower(sev), N: n, X: x, W: w})
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
