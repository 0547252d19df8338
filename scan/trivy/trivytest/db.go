package trivytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	bolt "go.etcd.io/bbolt"

	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"

	"github.com/berthlabs/berth/scan"
)

// The fixture DB holds real, published advisories for packages that the
// fixture images really contain. It is written with bbolt directly, in
// trivy-db's schema 2 layout (the layout trivy-db's own builders produce),
// rather than through trivy-db's db package, whose handle is process-wide
// and belongs to the scanner under test:
//
//	"<platform>" / "<package>" / "<vuln id>" -> Advisory
//	"vulnerability" / "<vuln id>"            -> Vulnerability
//	"data-source" / "<platform>"             -> DataSource

// An Advisory is one entry of the fixture DB: a vulnerability of a package
// of a distribution release.
type Advisory struct {
	ID string // CVE ID
	// Package is the package the distribution keys the advisory by:
	// Debian's source package, Alpine's origin package. A scan reports
	// it against every installed binary package built from it.
	Package string
	// Fixed is the first fixed version; "" when there is none (a scan
	// then reports every installed version).
	Fixed string
	// Severity is the severity a scan reports: the distribution's own
	// when the advisory has one, else NVD's.
	Severity scan.Severity

	status         dbtypes.Status   // Debian: will_not_fix, affected
	vendorSeverity dbtypes.Severity // the distribution's severity, if any
}

// DebianAdvisories are the fixture DB's advisories for Debian 12
// (platform "debian 12", data source "Debian Security Tracker"), keyed by
// source package as Debian's tracker does. Do not modify.
//
//   - CVE-2023-45853, zlib: MiniZip integer overflow. Debian: <ignored> for
//     bookworm (minizip is not built from src:zlib there), so no fix and
//     Trivy's status will_not_fix; no Debian urgency, NVD 9.8 CRITICAL.
//   - CVE-2016-2781, coreutils: chroot --userspec TIOCSTI escape. Debian:
//     <ignored>, urgency low -> LOW, will_not_fix (NVD says 6.5 MEDIUM;
//     Trivy prefers the distribution's severity).
//   - CVE-2005-2541, tar: extracting as root keeps setuid bits. Debian:
//     unimportant -> LOW, unfixed (affected).
//   - CVE-2024-28757 (billion laughs through isolated external parsers) and
//     CVE-2025-59375 (unbounded allocations), expat: fixed in bookworm by
//     expat 2.5.0-1+deb12u4 (its changelog, in the libexpat1 .deb of
//     bookworm-security, lists both); NVD 7.5 HIGH each.
//   - CVE-2025-31115, xz-utils: heap use-after-free in the threaded
//     decoder, fixed in 5.4.1-1 (bookworm's version with the fix
//     backported); CVSS 4.0 8.7 from the CNA, NVD HIGH.
//
// Which of them a scan of DebianImage reports depends on the versions
// installed on this machine: see DebianFindings.
var DebianAdvisories = []Advisory{
	{ID: "CVE-2023-45853", Package: "zlib", Severity: scan.Critical, status: dbtypes.StatusWillNotFix},
	{ID: "CVE-2016-2781", Package: "coreutils", Severity: scan.Low, status: dbtypes.StatusWillNotFix, vendorSeverity: dbtypes.SeverityLow},
	{ID: "CVE-2005-2541", Package: "tar", Severity: scan.Low, status: dbtypes.StatusAffected, vendorSeverity: dbtypes.SeverityLow},
	{ID: "CVE-2024-28757", Package: "expat", Fixed: "2.5.0-1+deb12u4", Severity: scan.High},
	{ID: "CVE-2025-59375", Package: "expat", Fixed: "2.5.0-1+deb12u4", Severity: scan.High},
	{ID: "CVE-2025-31115", Package: "xz-utils", Fixed: "5.4.1-1", Severity: scan.High},
}

// AlpineAdvisories are the fixture DB's advisories for Alpine 3.10
// (platform "alpine 3.10", data source "Alpine Secdb"), keyed by origin
// package as the secdb does. The secdb carries no severity: a scan
// reports NVD's. Do not modify.
//
//   - CVE-2019-1549 and CVE-2019-1563 fixed in openssl 1.1.1d-r0,
//     CVE-2019-1551 in 1.1.1d-r2 (NVD: 5.3 MEDIUM, 3.7 LOW, 5.3 MEDIUM).
//   - CVE-2019-14697, musl x87 stack imbalance: fixed in 1.1.22-r3; NVD 9.8
//     CRITICAL.
//   - CVE-2016-9840, zlib inftrees pointer arithmetic: fixed in 1.2.11-r0,
//     older than AlpineImage's 1.2.11-r1, so a scan must NOT report it.
//
// AlpineFindings is what a scan of AlpineImage reports.
var AlpineAdvisories = []Advisory{
	{ID: "CVE-2019-1549", Package: "openssl", Fixed: "1.1.1d-r0", Severity: scan.Medium},
	{ID: "CVE-2019-1551", Package: "openssl", Fixed: "1.1.1d-r2", Severity: scan.Medium},
	{ID: "CVE-2019-1563", Package: "openssl", Fixed: "1.1.1d-r0", Severity: scan.Low},
	{ID: "CVE-2019-14697", Package: "musl", Fixed: "1.1.22-r3", Severity: scan.Critical},
	{ID: "CVE-2016-9840", Package: "zlib", Fixed: "1.2.11-r0", Severity: scan.High},
}

const (
	debianPlatform = "debian 12"
	alpinePlatform = "alpine 3.10"
)

var dataSources = map[string]dbtypes.DataSource{
	debianPlatform: {ID: "debian", Name: "Debian Security Tracker", URL: "https://salsa.debian.org/security-tracker-team/security-tracker"},
	alpinePlatform: {ID: "alpine", Name: "Alpine Secdb", URL: "https://secdb.alpinelinux.org/"},
}

func ptime(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func vuln(title, desc, published string, cwe []string, sev dbtypes.Severity, score float64, vector string) dbtypes.Vulnerability {
	return dbtypes.Vulnerability{
		Title:          title,
		Description:    desc,
		Severity:       sev.String(),
		CweIDs:         cwe,
		VendorSeverity: dbtypes.VendorSeverity{"nvd": sev},
		CVSS:           dbtypes.VendorCVSS{"nvd": {V3Score: score, V3Vector: vector}},
		PublishedDate:  ptime(published),
	}
}

const (
	avNetworkHigh    = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	avNetworkDoS     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
	avNetworkLowConf = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"
)

// vulnerabilities are the details of every advisory's vulnerability, as
// NVD (and, where noted, the distribution or the CNA) publish them.
var vulnerabilities = map[string]dbtypes.Vulnerability{
	"CVE-2023-45853": vuln("zlib: integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_6",
		"MiniZip in zlib through 1.3 has an integer overflow for a long filename, comment or extra field.",
		"2023-10-14", []string{"CWE-190"}, dbtypes.SeverityCritical, 9.8, avNetworkHigh),
	"CVE-2016-2781": vuln("coreutils: Non-privileged session can escape to the parent session in chroot",
		"chroot in GNU coreutils, when used with --userspec, allows local users to escape to the parent session via a crafted TIOCSTI ioctl call.",
		"2017-02-07", []string{"CWE-20"}, dbtypes.SeverityMedium, 6.5, "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N"),
	"CVE-2005-2541": vuln("tar: does not properly warn the user when extracting setuid or setgid files",
		"Tar 1.15.1 does not properly warn the user when extracting setuid or setgid files, which may allow local users or remote attackers to gain privileges.",
		"2005-08-10", nil, dbtypes.SeverityHigh, 0, ""),
	"CVE-2024-28757": vuln("expat: XML Entity Expansion",
		"libexpat through 2.6.1 allows an XML Entity Expansion attack when there is isolated use of external parsers (created via XML_ExternalEntityParserCreate).",
		"2024-03-10", []string{"CWE-776"}, dbtypes.SeverityHigh, 7.5, avNetworkDoS),
	"CVE-2025-59375": vuln("expat: libexpat in Expat allows attackers to trigger large dynamic memory allocations",
		"libexpat in Expat before 2.7.2 allows attackers to trigger large dynamic memory allocations via a small document that is submitted for parsing.",
		"2025-09-15", []string{"CWE-770"}, dbtypes.SeverityHigh, 7.5, avNetworkDoS),
	"CVE-2025-31115": vuln("xz: XZ has a heap-use-after-free bug in threaded .xz decoder",
		"In XZ Utils 5.3.3alpha to 5.8.0, the multithreaded .xz decoder in liblzma has a bug where invalid input can at least result in a crash.",
		"2025-04-03", []string{"CWE-366", "CWE-416"}, dbtypes.SeverityHigh, 8.7, ""),
	"CVE-2019-1549": vuln("openssl: information disclosure in fork()",
		"OpenSSL 1.1.1 introduced a rewritten random number generator that was intended to protect against the RNG state being shared between parent and child after fork(); the protection was not applied by default.",
		"2019-09-10", []string{"CWE-330"}, dbtypes.SeverityMedium, 5.3, avNetworkLowConf),
	"CVE-2019-1551": vuln("openssl: Integer overflow in RSAZ modular exponentiation on x86_64",
		"There is an overflow bug in the x64_64 Montgomery squaring procedure used in exponentiation with 512-bit moduli.",
		"2019-12-06", []string{"CWE-200"}, dbtypes.SeverityMedium, 5.3, avNetworkLowConf),
	"CVE-2019-1563": vuln("openssl: information disclosure in PKCS7_dataDecode and CMS_decrypt_set1_pkey",
		"In situations where an attacker receives automated notification of the success or failure of a decryption attempt, a Bleichenbacher padding oracle attack could recover a CMS/PKCS7 transported encryption key.",
		"2019-09-10", []string{"CWE-327"}, dbtypes.SeverityLow, 3.7, "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"),
	"CVE-2019-14697": vuln("musl: x87 floating-point stack adjustment imbalance",
		"musl libc through 1.1.23 has an x87 floating-point stack adjustment imbalance, related to the math/i386/ directory.",
		"2019-08-06", []string{"CWE-787"}, dbtypes.SeverityCritical, 9.8, avNetworkHigh),
	"CVE-2016-9840": vuln("zlib: Out-of-bounds pointer arithmetic in inftrees.c",
		"inftrees.c in zlib 1.2.8 might allow context-dependent attackers to have unspecified impact by leveraging improper pointer arithmetic.",
		"2017-05-23", []string{"CWE-119"}, dbtypes.SeverityHigh, 8.8, "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"),
}

func init() {
	// NVD scores CVE-2005-2541 with CVSS v2 only (10.0).
	v := vulnerabilities["CVE-2005-2541"]
	v.CVSS = dbtypes.VendorCVSS{"nvd": {V2Score: 10, V2Vector: "AV:N/AC:L/Au:N/C:C/I:C/A:C"}}
	vulnerabilities["CVE-2005-2541"] = v
	// CVE-2025-31115: scored by the CNA (GitHub) in CVSS 4.0.
	v = vulnerabilities["CVE-2025-31115"]
	v.CVSS = dbtypes.VendorCVSS{"ghsa": {V40Score: 8.7, V40Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"}}
	vulnerabilities["CVE-2025-31115"] = v
	// Debian's urgencies.
	for _, a := range DebianAdvisories {
		if a.vendorSeverity != dbtypes.SeverityUnknown {
			v := vulnerabilities[a.ID]
			v.VendorSeverity["debian"] = a.vendorSeverity
			vulnerabilities[a.ID] = v
		}
	}
	for id, v := range vulnerabilities {
		v.References = []string{"https://nvd.nist.gov/vuln/detail/" + id}
		vulnerabilities[id] = v
	}
}

// DBUpdatedAt is the fixture DB's default UpdatedAt; the scanner reports
// it, in RFC 3339, as a report's DBVersion. Do not modify.
var DBUpdatedAt = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

// WriteDB writes the fixture DB into dir as Trivy keeps it on disk:
// trivy.db (schema 2) and metadata.json, whose UpdatedAt is updatedAt and
// NextUpdate a day later.
func WriteDB(dir string, updatedAt time.Time) error {
	bdb, err := bolt.Open(filepath.Join(dir, "trivy.db"), 0o600, nil)
	if err != nil {
		return err
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		put := func(b *bolt.Bucket, key string, v any) error {
			data, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return b.Put([]byte(key), data)
		}
		for _, p := range []struct {
			platform string
			advs     []Advisory
		}{{debianPlatform, DebianAdvisories}, {alpinePlatform, AlpineAdvisories}} {
			root, err := tx.CreateBucketIfNotExists([]byte(p.platform))
			if err != nil {
				return err
			}
			for _, a := range p.advs {
				pkg, err := root.CreateBucketIfNotExists([]byte(a.Package))
				if err != nil {
					return err
				}
				adv := &dbtypes.Advisory{FixedVersion: a.Fixed, Status: a.status, Severity: a.vendorSeverity}
				if err := put(pkg, a.ID, adv); err != nil { // *Advisory encodes Status as a number
					return err
				}
			}
		}
		vb, err := tx.CreateBucketIfNotExists([]byte("vulnerability"))
		if err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(vulnerabilities)) {
			if err := put(vb, id, vulnerabilities[id]); err != nil {
				return err
			}
		}
		ds, err := tx.CreateBucketIfNotExists([]byte("data-source"))
		if err != nil {
			return err
		}
		for _, platform := range slices.Sorted(maps.Keys(dataSources)) {
			if err := put(ds, platform, dataSources[platform]); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("trivytest: write trivy.db: %w", err)
	}
	meta, err := json.Marshal(map[string]any{
		"Version":    2,
		"NextUpdate": updatedAt.Add(24 * time.Hour),
		"UpdatedAt":  updatedAt,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "metadata.json"), meta, 0o600)
}

// Trivy's DB artifact media types.
const (
	DBConfigMediaType = "application/vnd.aquasec.trivy.config.v1+json"
	DBLayerMediaType  = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
)

// DBImage is the fixture DB (see WriteDB) packaged the way Trivy publishes
// its DB: an OCI manifest with config media type DBConfigMediaType and one
// layer of DBLayerMediaType, a tar+gzip of trivy.db and metadata.json
// titled db.tar.gz.
//
// Within a process, the same updatedAt gives the same artifact (the same
// digest), so pushing it again changes nothing; across processes it does
// not: bbolt lays out trivy.db's pages in map order.
func DBImage(updatedAt time.Time) (v1.Image, error) {
	data, err := dbLayer(updatedAt)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer(data, DBLayerMediaType),
		Annotations: map[string]string{"org.opencontainers.image.title": "db.tar.gz"},
		MediaType:   DBLayerMediaType,
	})
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	return mutate.ConfigMediaType(img, DBConfigMediaType), nil
}

var dbLayers sync.Map // UpdatedAt in Unix nanoseconds -> []byte

// dbLayer is DBImage's layer: trivy.db and metadata.json, tar+gzip.
func dbLayer(updatedAt time.Time) ([]byte, error) {
	if data, ok := dbLayers.Load(updatedAt.UnixNano()); ok {
		return data.([]byte), nil
	}
	dir, err := os.MkdirTemp("", "trivytest-db-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := WriteDB(dir, updatedAt); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []string{"trivy.db", "metadata.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: int64(len(data)), ModTime: updatedAt}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	data, _ := dbLayers.LoadOrStore(updatedAt.UnixNano(), buf.Bytes())
	return data.([]byte), nil
}

// PushDB pushes DBImage(updatedAt) to ref ("host[:port]/repository:tag",
// e.g. "127.0.0.1:5000/security/trivy-db:2") with go-containerregistry,
// the way trivy.WithDBRepository(ref, rt, insecure) reads it: through rt
// (go-containerregistry's default transport when nil), e.g. berth's in-process
// registry.Transport or a test server's client transport, and over plain
// HTTP when insecure is set (go-containerregistry also falls back to HTTP
// by itself for localhost and loopback addresses). opts are added to
// remote.Write's, e.g. remote.WithAuth for a registry that asks for
// credentials.
func PushDB(ctx context.Context, ref string, rt http.RoundTripper, insecure bool, updatedAt time.Time, opts ...remote.Option) error {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return fmt.Errorf("trivytest: %w", err)
	}
	img, err := DBImage(updatedAt)
	if err != nil {
		return err
	}
	ropts := []remote.Option{remote.WithContext(ctx)}
	if rt != nil {
		ropts = append(ropts, remote.WithTransport(rt))
	}
	if err := remote.Write(r, img, append(ropts, opts...)...); err != nil {
		return fmt.Errorf("trivytest: push DB to %s: %w", ref, err)
	}
	return nil
}
