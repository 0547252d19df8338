package scan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rule is what the gate does with an artifact it has no usable report for.
type Rule int

// Rules.
const (
	Allow Rule = iota // serve it (Harbor's behaviour)
	Deny              // refuse it until a scan succeeds
)

// ParseRule reads "allow" or "deny".
func ParseRule(s string) (Rule, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "allow", "":
		return Allow, nil
	case "deny":
		return Deny, nil
	}
	return Allow, fmt.Errorf("%w: rule %q: want allow or deny", ErrInvalid, s)
}

func (r Rule) String() string {
	if r == Deny {
		return "deny"
	}
	return "allow"
}

// Policy is one project's pull policy for vulnerabilities.
type Policy struct {
	// Enabled turns the gate on (the project's PreventVulnerable).
	Enabled bool
	// Threshold: artifacts with a finding of this severity or above are
	// blocked. None and Unknown block any finding.
	Threshold Severity
	// Unscanned applies to artifacts never scanned, or being scanned.
	Unscanned Rule
	// Failed applies to artifacts whose latest scan failed.
	Failed Rule
	// Allowlist lists vulnerabilities ignored while it is active: the
	// project's, or the system's when the project reuses it.
	Allowlist Allowlist
}

// State is what is known of an artifact's scanning.
type State int

// States.
const (
	NotScanned State = iota // no report and no failed scan
	Scanning                // a scan is queued or running, no report yet
	ScanFailed              // the latest scan failed and there is no report
	Scanned                 // a report exists
)

func (s State) String() string {
	return [...]string{"not scanned", "being scanned", "scan failed", "scanned"}[s]
}

// Evidence is what the gate knows of one artifact: its state and, when
// Scanned, the findings of its latest report (only ID, Package, Version,
// FixVersion and Severity are read).
type Evidence struct {
	State           State
	Vulnerabilities []Vulnerability
}

// Decision is the gate's answer. Reason is written for a person and is
// set for refusals.
type Decision struct {
	Allowed bool
	Reason  string
	// Blocking are the findings at or above the threshold that no active
	// allowlist covers, worst first.
	Blocking []Vulnerability
	// Allowlisted counts findings at or above the threshold that the
	// allowlist let through.
	Allowlisted int
}

// maxNamedCVEs is how many of the worst findings a refusal names.
const maxNamedCVEs = 3

// Evaluate decides whether an artifact may be pulled under p, given what is
// known of it, at time now (for the allowlist's expiry). It is a pure
// function: no scanner, store or clock behind it.
func Evaluate(p Policy, e Evidence, now time.Time) Decision {
	if !p.Enabled {
		return Decision{Allowed: true}
	}
	switch e.State {
	case NotScanned, Scanning:
		if p.Unscanned == Deny {
			return Decision{Reason: fmt.Sprintf("the artifact is %s and the project only serves artifacts scanned clean of vulnerabilities of severity %s or above", e.State, thresholdName(p.Threshold))}
		}
		return Decision{Allowed: true}
	case ScanFailed:
		if p.Failed == Deny {
			return Decision{Reason: fmt.Sprintf("the artifact's last scan failed and the project only serves artifacts scanned clean of vulnerabilities of severity %s or above; scan it again", thresholdName(p.Threshold))}
		}
		return Decision{Allowed: true}
	}
	floor := max(p.Threshold, Unknown)
	allow := p.Allowlist.Active(now)
	var d Decision
	for _, v := range e.Vulnerabilities {
		if v.Severity < floor {
			continue
		}
		if allow && p.Allowlist.Contains(v.ID) {
			d.Allowlisted++
			continue
		}
		d.Blocking = append(d.Blocking, v)
	}
	if len(d.Blocking) == 0 {
		d.Allowed = true
		return d
	}
	slices.SortStableFunc(d.Blocking, func(a, b Vulnerability) int {
		if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	d.Reason = blockReason(p.Threshold, d.Blocking)
	return d
}

func thresholdName(t Severity) string {
	if t <= Unknown {
		return "Unknown"
	}
	return t.String()
}

// blockReason reads like: "3 vulnerabilities at or above the project's
// threshold High (1 Critical, 2 High): CVE-2024-1 (Critical) in openssl
// 3.0.1, ...; allowlist them or fix them".
func blockReason(t Severity, vs []Vulnerability) string {
	counts := map[Severity]int{}
	ids := map[string]bool{}
	for _, v := range vs {
		counts[v.Severity]++
		ids[v.ID] = true
	}
	var by []string
	for s := Critical; s >= Unknown; s-- {
		if counts[s] > 0 {
			by = append(by, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	noun := "vulnerabilities"
	if len(vs) == 1 {
		noun = "vulnerability"
	}
	var named []string
	seen := map[string]bool{}
	for _, v := range vs {
		if len(named) == maxNamedCVEs {
			break
		}
		if seen[v.ID] {
			continue
		}
		seen[v.ID] = true
		s := fmt.Sprintf("%s (%s) in %s %s", v.ID, v.Severity, v.Package, v.Version)
		if v.FixVersion != "" {
			s += ", fixed in " + v.FixVersion
		}
		named = append(named, strings.TrimSpace(s))
	}
	more := ""
	if len(ids) > len(named) {
		more = fmt.Sprintf(" and %d more", len(ids)-len(named))
	}
	return fmt.Sprintf("%d %s at or above the project's severity threshold %s (%s): %s%s",
		len(vs), noun, thresholdName(t), strings.Join(by, ", "), strings.Join(named, "; "), more)
}
