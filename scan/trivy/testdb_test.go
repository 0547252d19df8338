package trivy_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
)

// The test vulnerability DB holds real, published advisories for packages
// that the fixture images really contain. It is written with bbolt
// directly, in trivy-db's schema 2 layout (the layout trivy-db's own
// builders produce), rather than through trivy-db's db package, whose
// handle is process-wide and belongs to the scanner under test.
//
//	"<platform>" / "<source package>" / "<vuln id>" -> Advisory
//	"vulnerability" / "<vuln id>"                  -> Vulnerability
//	"data-source" / "<platform>"                   -> DataSource
//
// Debian 12 (advisories keyed by source package, as Debian's tracker does):
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
//     bookworm-security, lists both); NVD 7.5 HIGH each. This machine has
//     2.5.0-1+deb12u1.
//   - CVE-2025-31115, xz-utils: fixed in 5.4.1-1 (bookworm-security), the
//     version installed here, so it must NOT be reported.
//
// Alpine 3.10 (secdb, keyed by origin package):
//
//   - CVE-2019-1549 and CVE-2019-1563 fixed in openssl 1.1.1d-r0,
//     CVE-2019-1551 in 1.1.1d-r2 (NVD: 5.3 MEDIUM, 3.7 LOW, 5.3 MEDIUM).
//   - CVE-2019-14697, musl x87 stack imbalance: fixed in 1.1.22-r3; NVD 9.8
//     CRITICAL.
//   - CVE-2016-9840, zlib inftrees pointer arithmetic: fixed in 1.2.11-r0,
//     older than the image's 1.2.11-r1, so it must NOT be reported.
type advisory struct {
	platform, pkg, id string
	adv               dbtypes.Advisory
}

func ptime(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

const (
	debianPlatform = "debian 12"
	alpinePlatform = "alpine 3.10"
)

var testAdvisories = []advisory{
	{debianPlatform, "zlib", "CVE-2023-45853", dbtypes.Advisory{Status: dbtypes.StatusWillNotFix}},
	{debianPlatform, "coreutils", "CVE-2016-2781", dbtypes.Advisory{Status: dbtypes.StatusWillNotFix, Severity: dbtypes.SeverityLow}},
	{debianPlatform, "tar", "CVE-2005-2541", dbtypes.Advisory{Status: dbtypes.StatusAffected, Severity: dbtypes.SeverityLow}},
	{debianPlatform, "expat", "CVE-2024-28757", dbtypes.Advisory{FixedVersion: "2.5.0-1+deb12u4"}},
	{debianPlatform, "expat", "CVE-2025-59375", dbtypes.Advisory{FixedVersion: "2.5.0-1+deb12u4"}},
	{debianPlatform, "xz-utils", "CVE-2025-31115", dbtypes.Advisory{FixedVersion: "5.4.1-1"}},

	{alpinePlatform, "openssl", "CVE-2019-1549", dbtypes.Advisory{FixedVersion: "1.1.1d-r0"}},
	{alpinePlatform, "openssl", "CVE-2019-1551", dbtypes.Advisory{FixedVersion: "1.1.1d-r2"}},
	{alpinePlatform, "openssl", "CVE-2019-1563", dbtypes.Advisory{FixedVersion: "1.1.1d-r0"}},
	{alpinePlatform, "musl", "CVE-2019-14697", dbtypes.Advisory{FixedVersion: "1.1.22-r3"}},
	{alpinePlatform, "zlib", "CVE-2016-9840", dbtypes.Advisory{FixedVersion: "1.2.11-r0"}},
}

func nvd(sev dbtypes.Severity, score float64, vector string) (dbtypes.VendorSeverity, dbtypes.VendorCVSS) {
	return dbtypes.VendorSeverity{"nvd": sev}, dbtypes.VendorCVSS{"nvd": {V3Score: score, V3Vector: vector}}
}

func vuln(title, desc, published string, cwe []string, sev dbtypes.Severity, score float64, vector string) dbtypes.Vulnerability {
	vs, cvss := nvd(sev, score, vector)
	return dbtypes.Vulnerability{
		Title:          title,
		Description:    desc,
		Severity:       sev.String(),
		CweIDs:         cwe,
		VendorSeverity: vs,
		CVSS:           cvss,
		PublishedDate:  ptime(published),
	}
}

const (
	avNetworkHigh    = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	avNetworkDoS     = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
	avNetworkLowConf = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"
)

var testVulnerabilities = map[string]dbtypes.Vulnerability{
	"CVE-2023-45853": vuln("zlib: integer overflow and resultant heap-based buffer overflow in zipOpenNewFileInZip4_6",
		"MiniZip in zlib through 1.3 has an integer overflow for a long filename, comment or extra field.",
		"2023-10-14", []string{"CWE-190"}, dbtypes.SeverityCritical, 9.8, avNetworkHigh),
	"CVE-2016-2781": func() dbtypes.Vulnerability {
		v := vuln("coreutils: Non-privileged session can escape to the parent session in chroot",
			"chroot in GNU coreutils, when used with --userspec, allows local users to escape to the parent session via a crafted TIOCSTI ioctl call.",
			"2017-02-07", []string{"CWE-20"}, dbtypes.SeverityMedium, 6.5, "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N")
		v.VendorSeverity["debian"] = dbtypes.SeverityLow
		return v
	}(),
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
	v := testVulnerabilities["CVE-2005-2541"]
	v.CVSS = dbtypes.VendorCVSS{"nvd": {V2Score: 10, V2Vector: "AV:N/AC:L/Au:N/C:C/I:C/A:C"}}
	v.VendorSeverity["debian"] = dbtypes.SeverityLow
	testVulnerabilities["CVE-2005-2541"] = v
	// CVE-2025-31115: scored by the CNA (GitHub) in CVSS 4.0.
	v = testVulnerabilities["CVE-2025-31115"]
	v.CVSS = dbtypes.VendorCVSS{"ghsa": {V40Score: 8.7, V40Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"}}
	testVulnerabilities["CVE-2025-31115"] = v
	for id, v := range testVulnerabilities {
		v.References = []string{"https://nvd.nist.gov/vuln/detail/" + id}
		testVulnerabilities[id] = v
	}
}

var testDataSources = map[string]dbtypes.DataSource{
	debianPlatform: {ID: "debian", Name: "Debian Security Tracker", URL: "https://salsa.debian.org/security-tracker-team/security-tracker"},
	alpinePlatform: {ID: "alpine", Name: "Alpine Secdb", URL: "https://secdb.alpinelinux.org/"},
}

// testDBUpdatedAt is the fixture DB's UpdatedAt, reported as DBVersion.
var testDBUpdatedAt = time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)

// writeTestDB writes trivy.db and metadata.json into dir.
func writeTestDB(t testing.TB, dir string, updatedAt time.Time) {
	t.Helper()
	bdb, err := bolt.Open(filepath.Join(dir, "trivy.db"), 0o600, nil)
	require.NoError(t, err)
	err = bdb.Update(func(tx *bolt.Tx) error {
		put := func(b *bolt.Bucket, key string, v any) error {
			data, err := json.Marshal(v)
			if err != nil {
				return err
			}
			return b.Put([]byte(key), data)
		}
		for _, a := range testAdvisories {
			root, err := tx.CreateBucketIfNotExists([]byte(a.platform))
			if err != nil {
				return err
			}
			pkg, err := root.CreateBucketIfNotExists([]byte(a.pkg))
			if err != nil {
				return err
			}
			adv := a.adv
			if err := put(pkg, a.id, &adv); err != nil { // *Advisory encodes Status as a number
				return err
			}
		}
		vb, err := tx.CreateBucketIfNotExists([]byte("vulnerability"))
		if err != nil {
			return err
		}
		for id, v := range testVulnerabilities {
			if err := put(vb, id, v); err != nil {
				return err
			}
		}
		ds, err := tx.CreateBucketIfNotExists([]byte("data-source"))
		if err != nil {
			return err
		}
		for platform, src := range testDataSources {
			if err := put(ds, platform, src); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, bdb.Close())

	meta, err := json.Marshal(map[string]any{
		"Version":    2,
		"NextUpdate": updatedAt.Add(24 * time.Hour),
		"UpdatedAt":  updatedAt,
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metadata.json"), meta, 0o600))
}

// Trivy's DB artifact media types.
const (
	dbConfigMediaType = "application/vnd.aquasec.trivy.config.v1+json"
	dbLayerMediaType  = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
)

// dbArtifact packages a DB directory the way Trivy publishes its DB: an OCI
// manifest with one tar+gzip layer titled db.tar.gz.
func dbArtifact(t testing.TB, dir string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []string{"trivy.db", "metadata.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: int64(len(data)), ModTime: testDBUpdatedAt}))
		_, err = tw.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())

	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer(buf.Bytes(), dbLayerMediaType),
		Annotations: map[string]string{"org.opencontainers.image.title": "db.tar.gz"},
		MediaType:   dbLayerMediaType,
	})
	require.NoError(t, err)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, dbConfigMediaType)
	return img
}

// pushTestDB builds the DB and pushes it to repo (e.g. "security/trivy-db:2").
func (e *env) pushTestDB(t testing.TB, repo string, updatedAt time.Time) {
	t.Helper()
	dir := t.TempDir()
	writeTestDB(t, dir, updatedAt)
	ref, err := name.ParseReference(e.host + "/" + repo)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, dbArtifact(t, dir), remote.WithTransport(e.rt)))
}
