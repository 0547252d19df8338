package scan_test

import (
	"fmt"
	"time"

	"github.com/berthlabs/berth/scan"
)

// The gate is a pure function: a project's policy and what is known of an
// artifact in, a decision with a readable reason out.
func ExampleEvaluate() {
	policy := scan.Policy{Enabled: true, Threshold: scan.High}
	evidence := scan.Evidence{State: scan.Scanned, Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2024-1234", Package: "openssl", Version: "3.0.11", FixVersion: "3.0.12", Severity: scan.Critical},
		{ID: "CVE-2024-5678", Package: "zlib", Version: "1.2.13", Severity: scan.Medium},
	}}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	d := scan.Evaluate(policy, evidence, now)
	fmt.Println(d.Allowed)
	fmt.Println(d.Reason)

	// Allowlisting the CVE, until the end of the year, lets the pull through.
	policy.Allowlist = scan.Allowlist{Items: []string{"CVE-2024-1234"}, ExpiresAt: now.AddDate(1, 0, 0)}
	fmt.Println(scan.Evaluate(policy, evidence, now).Allowed)
	// Output:
	// false
	// 1 vulnerability at or above the project's severity threshold High (1 Critical): CVE-2024-1234 (Critical) in openssl 3.0.11, fixed in 3.0.12
	// true
}
