package scan

import (
	"encoding/json"
	"time"
)

// Summary counts a report's findings, as Harbor shows them next to each
// artifact.
type Summary struct {
	Total    int              `json:"total"`
	Fixable  int              `json:"fixable"`
	Counts   map[Severity]int `json:"summary"` // by severity; JSON keys are severity names
	Severity Severity         `json:"severity"`
}

// Summarize counts vs.
func Summarize(vs []Vulnerability) Summary {
	s := Summary{Counts: map[Severity]int{}, Severity: Worst(vs)}
	for _, v := range vs {
		s.Total++
		if v.FixVersion != "" {
			s.Fixable++
		}
		s.Counts[v.Severity]++
	}
	return s
}

// ReportInfo describes a stored report without its findings.
type ReportInfo struct {
	Digest      string    `json:"digest"`
	Repository  string    `json:"repository"`
	Scanner     string    `json:"scanner"` // the registration's ID
	DBVersion   string    `json:"db_version"`
	GeneratedAt time.Time `json:"generated_at"`
	Summary     Summary   `json:"summary"`
}

// compact keeps what the gate reads of each finding.
func compact(vs []Vulnerability) []Vulnerability {
	out := make([]Vulnerability, len(vs))
	for i, v := range vs {
		out[i] = Vulnerability{ID: v.ID, Package: v.Package, Version: v.Version, FixVersion: v.FixVersion, Severity: v.Severity}
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only types of this package
	}
	return string(b)
}
