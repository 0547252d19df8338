package scan_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/scan"
)

func vuln(id string, sev scan.Severity) scan.Vulnerability {
	return scan.Vulnerability{ID: id, Package: "pkg-" + id, Version: "1.0", Severity: sev}
}

func TestEvaluate(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	findings := scan.Evidence{State: scan.Scanned, Vulnerabilities: []scan.Vulnerability{
		vuln("CVE-2024-0001", scan.Low), vuln("CVE-2024-0002", scan.High), vuln("CVE-2024-0003", scan.Critical),
	}}
	high := scan.Policy{Enabled: true, Threshold: scan.High}
	withList := func(p scan.Policy, exp time.Time, ids ...string) scan.Policy {
		p.Allowlist = scan.Allowlist{Items: ids, ExpiresAt: exp}
		return p
	}
	deny := func(p scan.Policy) scan.Policy { p.Unscanned, p.Failed = scan.Deny, scan.Deny; return p }
	tests := []struct {
		name     string
		policy   scan.Policy
		evidence scan.Evidence
		allowed  bool
		blocking []string
		reason   []string
	}{
		{name: "gate off", policy: scan.Policy{Threshold: scan.Low}, evidence: findings, allowed: true},
		{name: "high blocks high and critical", policy: high, evidence: findings,
			blocking: []string{"CVE-2024-0003", "CVE-2024-0002"},
			reason: []string{"2 vulnerabilities", "threshold High", "1 Critical, 1 High",
				"CVE-2024-0003 (Critical) in pkg-CVE-2024-0003 1.0", "CVE-2024-0002 (High)"}},
		{name: "critical blocks critical only", policy: scan.Policy{Enabled: true, Threshold: scan.Critical}, evidence: findings,
			blocking: []string{"CVE-2024-0003"}, reason: []string{"1 vulnerability at or above", "threshold Critical"}},
		{name: "none blocks everything", policy: scan.Policy{Enabled: true, Threshold: scan.None}, evidence: findings,
			blocking: []string{"CVE-2024-0003", "CVE-2024-0002", "CVE-2024-0001"}, reason: []string{"threshold Unknown"}},
		{name: "clean passes", policy: high, evidence: scan.Evidence{State: scan.Scanned}, allowed: true},
		{name: "allowlisted passes", policy: withList(high, time.Time{}, "CVE-2024-0002", "cve-2024-0003"), evidence: findings, allowed: true},
		{name: "partly allowlisted", policy: withList(high, now.Add(time.Hour), "CVE-2024-0003"), evidence: findings,
			blocking: []string{"CVE-2024-0002"}},
		{name: "expired allowlist ignored", policy: withList(high, now.Add(-time.Second), "CVE-2024-0002", "CVE-2024-0003"),
			evidence: findings, blocking: []string{"CVE-2024-0003", "CVE-2024-0002"}},
		{name: "unscanned allowed by default", policy: high, evidence: scan.Evidence{State: scan.NotScanned}, allowed: true},
		{name: "unscanned denied", policy: deny(high), evidence: scan.Evidence{State: scan.NotScanned}, reason: []string{"not scanned"}},
		{name: "scanning denied", policy: deny(high), evidence: scan.Evidence{State: scan.Scanning}, reason: []string{"being scanned"}},
		{name: "failed allowed by default", policy: high, evidence: scan.Evidence{State: scan.ScanFailed}, allowed: true},
		{name: "failed denied", policy: deny(high), evidence: scan.Evidence{State: scan.ScanFailed}, reason: []string{"last scan failed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := scan.Evaluate(tc.policy, tc.evidence, now)
			assert.Equal(t, tc.allowed, d.Allowed, d.Reason)
			var ids []string
			for _, v := range d.Blocking {
				ids = append(ids, v.ID)
			}
			assert.Equal(t, tc.blocking, ids)
			if !tc.allowed {
				assert.NotEmpty(t, d.Reason)
			}
			for _, r := range tc.reason {
				assert.Contains(t, d.Reason, r)
			}
		})
	}
}

func TestEvaluateNamesAtMostThree(t *testing.T) {
	var vs []scan.Vulnerability
	for _, id := range []string{"CVE-1", "CVE-2", "CVE-3", "CVE-4", "CVE-5"} {
		vs = append(vs, vuln(id, scan.Critical))
	}
	d := scan.Evaluate(scan.Policy{Enabled: true, Threshold: scan.High}, scan.Evidence{State: scan.Scanned, Vulnerabilities: vs}, time.Now())
	assert.Contains(t, d.Reason, "5 vulnerabilities")
	assert.Contains(t, d.Reason, "and 2 more")
	assert.NotContains(t, d.Reason, "CVE-4")
}

func TestAllowlistNormalized(t *testing.T) {
	a, err := scan.Allowlist{Items: []string{" cve-2024-1 ", "CVE-2024-1", "GHSA-xxxx"}}.Normalized()
	assert.NoError(t, err)
	assert.Equal(t, []string{"CVE-2024-1", "GHSA-XXXX"}, a.Items)
	_, err = scan.Allowlist{Items: []string{""}}.Normalized()
	assert.ErrorIs(t, err, scan.ErrInvalid)
	_, err = scan.Allowlist{Items: []string{"CVE 1"}}.Normalized()
	assert.ErrorIs(t, err, scan.ErrInvalid)
}
