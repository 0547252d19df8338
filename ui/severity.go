package ui

import "strings"

// severities are the scanners' severity names, most severe first: one
// table (and one set of strings, "sev.*") for every page that shows them.
var severities = [...]string{"Critical", "High", "Medium", "Low", "Negligible", "Unknown"}

// sevKey is a severity's catalog key ("None" for a clean report; an
// unknown name reads as Unknown).
func sevKey(s string) string {
	switch {
	case strings.EqualFold(s, "none"):
		return "sev.none"
	case severityRank(s) > 0:
		return "sev." + strings.ToLower(s) // sev.critical … sev.unknown
	}
	return "sev.unknown"
}

// severityRank orders severities: Critical highest, 0 for none known.
func severityRank(s string) int {
	for i, x := range severities {
		if strings.EqualFold(x, s) {
			return len(severities) - i
		}
	}
	return 0
}
