package slapdtest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder stands in for a test to observe Skip and Fatalf.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skip(args ...any)               { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

func TestMissingSlapdSkipsLoudlyOrFailsInCI(t *testing.T) {
	saved, savedLoud := slapdCandidates, loud
	t.Cleanup(func() { slapdCandidates, loud = saved, savedLoud })
	var notice strings.Builder
	slapdCandidates, loud = nil, &notice
	t.Setenv("SLAPD", "")
	t.Setenv("PATH", t.TempDir())

	t.Setenv("CI", "")
	r := &recorder{TB: t}
	findSlapd(r)
	if !strings.HasPrefix(r.skipped, "SKIPPING: slapd not installed") || !strings.Contains(r.skipped, "apt-get install slapd ldap-utils") {
		t.Errorf("skip message = %q", r.skipped)
	}
	if !strings.Contains(notice.String(), "!!!!! SKIPPING") {
		t.Errorf("no loud notice on stderr: %q", notice.String())
	}

	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	findSlapd(r)
	if r.skipped != "" || !strings.Contains(r.failed, "CI=true") || !strings.Contains(r.failed, "apt-get install slapd") {
		t.Errorf("in CI: skipped %q, failed %q", r.skipped, r.failed)
	}
}

func TestStartSeedsDirectory(t *testing.T) {
	s := Start(t)
	if got := s.BindDNs(); len(got) < 2 || got[0] != SearchDN {
		t.Fatalf("readiness probe binds = %q, want the service account on both listeners", got)
	}
	s.Stop()
	s.Stop() // idempotent
}
