package trivytest

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	debversion "github.com/knqyf263/go-deb-version"

	"github.com/berthlabs/berth/scan"
)

// A Finding is one vulnerability a scan reports: an advisory that hits one
// installed package.
type Finding struct {
	ID        string        // CVE ID
	Package   string        // the installed (binary) package
	Installed string        // its installed version, with epoch if any
	Fixed     string        // the advisory's fixed version; "" when none
	Severity  scan.Severity // see Advisory.Severity
}

func compareFindings(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Package, b.Package), cmp.Compare(a.Installed, b.Installed))
}

// Findings lists r's vulnerabilities as Findings, in r's order (trivy's
// Scanner sorts them by ID, package and version, as the Findings of this
// package are).
func Findings(r *scan.Report) []Finding {
	out := []Finding{}
	for _, v := range r.Vulnerabilities {
		out = append(out, Finding{ID: v.ID, Package: v.Package, Installed: v.Version, Fixed: v.FixVersion, Severity: v.Severity})
	}
	return out
}

// AlpineFindings are the exact findings of a scan of AlpineImage against
// the fixture DB: every AlpineAdvisories entry but CVE-2016-9840 (fixed
// before the installed zlib), against each binary package of the
// advisory's origin. Do not modify.
var AlpineFindings = []Finding{
	{"CVE-2019-14697", "musl", "1.1.22-r2", "1.1.22-r3", scan.Critical},
	{"CVE-2019-14697", "musl-utils", "1.1.22-r2", "1.1.22-r3", scan.Critical},
	{"CVE-2019-1549", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Medium},
	{"CVE-2019-1549", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Medium},
	{"CVE-2019-1551", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r2", scan.Medium},
	{"CVE-2019-1551", "libssl1.1", "1.1.1c-r0", "1.1.1d-r2", scan.Medium},
	{"CVE-2019-1563", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Low},
	{"CVE-2019-1563", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0", scan.Low},
}

// MinDebianAdvisories is how many DebianAdvisories must apply to this
// machine's packages for the Debian fixture to mean something.
const MinDebianAdvisories = 3

const dpkgStatus = "/var/lib/dpkg/status"

// DebianFindings are the exact findings of a scan of DebianImage against
// the fixture DB, computed from this machine's /var/lib/dpkg/status: an
// advisory hits every installed binary package built from its source
// package whose source version is lower than the fixed version in Debian
// version ordering (go-deb-version, which Trivy uses), or every one when
// it has no fix. "Installed" and "source version" are read as Trivy's dpkg
// analyzer reads them: a package whose Status says deinstall or purge is
// not installed; the source is the Source field (name and optional
// "(version)"), else the package itself. The findings are sorted as a
// report's vulnerabilities are.
//
// It fails, saying why, when this machine is not Debian 12 or when fewer
// than MinDebianAdvisories advisories apply.
func DebianFindings() ([]Finding, error) {
	osr, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return nil, fmt.Errorf("trivytest: the Debian fixture is made from this machine's own files: %w", err)
	}
	if !regexp.MustCompile(`(?m)^ID="?debian"?$`).Match(osr) || !regexp.MustCompile(`(?m)^VERSION_ID="?12"?$`).Match(osr) {
		return nil, fmt.Errorf("trivytest: the Debian fixture needs a Debian 12 machine (its advisories are bookworm's); /etc/os-release:\n%s", osr)
	}
	status, err := os.ReadFile(dpkgStatus)
	if err != nil {
		return nil, fmt.Errorf("trivytest: the Debian fixture is made from this machine's own files: %w", err)
	}
	return DebianFindingsFor(status)
}

// dpkgPackage is an installed package of a dpkg status file.
type dpkgPackage struct {
	name, version, srcName, srcVersion string
}

var dpkgSource = regexp.MustCompile(`^(\S*)(?: \((.*)\))?`)

// parseDpkgStatus returns the installed packages of a dpkg status file,
// once per name and version.
func parseDpkgStatus(status []byte) []dpkgPackage {
	var pkgs []dpkgPackage
	seen := map[[2]string]bool{}
	flush := func(fields map[string]string) {
		for s := range strings.FieldsSeq(fields["status"]) {
			if s == "deinstall" || s == "purge" {
				return
			}
		}
		p := dpkgPackage{name: fields["package"], version: fields["version"]}
		if p.name == "" || p.version == "" || seen[[2]string{p.name, p.version}] {
			return
		}
		if m := dpkgSource.FindStringSubmatch(fields["source"]); m != nil {
			p.srcName, p.srcVersion = m[1], strings.TrimSpace(m[2])
		}
		p.srcName = cmp.Or(p.srcName, p.name)
		p.srcVersion = cmp.Or(p.srcVersion, p.version)
		seen[[2]string{p.name, p.version}] = true
		pkgs = append(pkgs, p)
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(status))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush(fields)
			fields = map[string]string{}
		case line[0] == ' ' || line[0] == '\t': // continuation
		default:
			if k, v, ok := strings.Cut(line, ":"); ok {
				fields[strings.ToLower(k)] = strings.TrimSpace(v)
			}
		}
	}
	flush(fields)
	return pkgs
}

// DebianFindingsFor is DebianFindings for an image of Debian 12 whose
// /var/lib/dpkg/status is status, e.g. DebianFiles with the status
// changed. It fails, saying why, when fewer than MinDebianAdvisories
// advisories apply.
func DebianFindingsFor(status []byte) ([]Finding, error) {
	pkgs := parseDpkgStatus(status)
	var out []Finding
	applied := map[string]bool{}
	var why []string
	for _, a := range DebianAdvisories {
		var fixed debversion.Version
		if a.Fixed != "" {
			var err error
			if fixed, err = debversion.NewVersion(a.Fixed); err != nil {
				return nil, fmt.Errorf("trivytest: %s: %w", a.ID, err)
			}
		}
		var from []string
		for _, p := range pkgs {
			if p.srcName != a.Package {
				continue
			}
			installed, err1 := debversion.NewVersion(p.version)
			src, err2 := debversion.NewVersion(p.srcVersion)
			if err1 != nil || err2 != nil {
				continue // Trivy skips packages with invalid versions
			}
			from = append(from, p.name+" "+p.version)
			if a.Fixed != "" && !src.LessThan(fixed) {
				continue
			}
			applied[a.ID] = true
			out = append(out, Finding{ID: a.ID, Package: p.name, Installed: installed.String(), Fixed: a.Fixed, Severity: a.Severity})
		}
		switch {
		case len(from) == 0:
			why = append(why, fmt.Sprintf("%s: no package built from %s is installed", a.ID, a.Package))
		case !applied[a.ID]:
			why = append(why, fmt.Sprintf("%s: fixed in %s %s; installed: %s", a.ID, a.Package, a.Fixed, strings.Join(from, ", ")))
		}
	}
	if len(applied) < MinDebianAdvisories {
		return nil, fmt.Errorf("trivytest: only %d of the Debian fixture's %d advisories apply to this machine's packages, %d needed; "+
			"choose advisories that hit its current package versions (trivytest.DebianAdvisories):\n\t%s",
			len(applied), len(DebianAdvisories), MinDebianAdvisories, strings.Join(why, "\n\t"))
	}
	slices.SortFunc(out, compareFindings)
	return out, nil
}
