// Package sbom describes the Go modules linked into a binary as an SPDX
// 2.3 JSON document, read from the binary's own build information:
//
//	doc, err := sbom.FromBinary("/tmp/berth-amd64", time.Unix(epoch, 0))
//	// push doc as an OCI referrer with artifactType sbom.MediaType
//
// The document is a pure function of the binary and the time, so a
// reproducible binary gets a reproducible SBOM.
package sbom

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

// MediaType is an SPDX JSON document's media type (and its artifactType
// as an OCI referrer).
const MediaType = "application/spdx+json"

// Document is the part of SPDX 2.3 this package writes.
type Document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      CreationInfo   `json:"creationInfo"`
	Packages          []Package      `json:"packages"`
	Relationships     []Relationship `json:"relationships"`
}

// CreationInfo says when and by what the document was made.
type CreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

// Package is one Go module (or the Go standard library).
type Package struct {
	SPDXID           string        `json:"SPDXID"`
	Name             string        `json:"name"`
	VersionInfo      string        `json:"versionInfo,omitempty"`
	DownloadLocation string        `json:"downloadLocation"`
	FilesAnalyzed    bool          `json:"filesAnalyzed"`
	Comment          string        `json:"comment,omitempty"`
	ExternalRefs     []ExternalRef `json:"externalRefs,omitempty"`
}

// ExternalRef is a package URL.
type ExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

// Relationship links two elements.
type Relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

// FromBinary reads the build information of the Go binary at path.
func FromBinary(path string, created time.Time) ([]byte, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	sum := sha256.Sum256(body)
	return Build(info, hex.EncodeToString(sum[:]), created)
}

// Build writes the document of info; binarySHA256 (hex) names the
// document uniquely.
func Build(info *debug.BuildInfo, binarySHA256 string, created time.Time) ([]byte, error) {
	main := module(info.Main, "SPDXRef-Package-main")
	main.Comment = strings.TrimSpace(main.Comment + " " + settings(info))
	stdlib := Package{SPDXID: "SPDXRef-Package-stdlib", Name: "stdlib", DownloadLocation: "https://go.dev/dl/",
		VersionInfo: info.GoVersion, ExternalRefs: []ExternalRef{purl("stdlib", strings.TrimPrefix(info.GoVersion, "go"))}}
	d := Document{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              info.Path,
		DocumentNamespace: "https://github.com/berthlabs/berth/spdx/" + info.Path + "/sha256-" + binarySHA256,
		CreationInfo: CreationInfo{Created: created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: berth-image-builder"}},
		Packages: []Package{main, stdlib},
		Relationships: []Relationship{{"SPDXRef-DOCUMENT", "DESCRIBES", main.SPDXID},
			{main.SPDXID, "DEPENDS_ON", stdlib.SPDXID}},
	}
	for i, m := range info.Deps {
		p := module(*m, fmt.Sprintf("SPDXRef-Package-%d-%s", i, spdxIDUnsafe.ReplaceAllString(m.Path, "-")))
		d.Packages = append(d.Packages, p)
		d.Relationships = append(d.Relationships, Relationship{main.SPDXID, "DEPENDS_ON", p.SPDXID})
	}
	return json.MarshalIndent(d, "", "  ")
}

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// module is a Go module as a package: its purl, its go.sum hash and any
// replacement in the comment (SPDX has no checksum algorithm for h1:).
func module(m debug.Module, id string) Package {
	p := Package{SPDXID: id, Name: m.Path, VersionInfo: m.Version, DownloadLocation: "NOASSERTION"}
	var notes []string
	if m.Sum != "" {
		notes = append(notes, "go.sum "+m.Sum)
	}
	if r := m.Replace; r != nil {
		notes = append(notes, "replaced by "+strings.TrimSpace(r.Path+" "+r.Version))
		if r.Sum != "" {
			notes = append(notes, "go.sum "+r.Sum)
		}
	}
	p.Comment = strings.Join(notes, "; ")
	if m.Version != "" && m.Version != "(devel)" {
		p.ExternalRefs = []ExternalRef{purl(m.Path, m.Version)}
	}
	return p
}

func purl(path, version string) ExternalRef {
	return ExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl",
		ReferenceLocator: "pkg:golang/" + path + "@" + version}
}

// settings records how the binary was built (GOARCH, GOEXPERIMENT, …).
func settings(info *debug.BuildInfo) string {
	s := make([]string, 0, len(info.Settings))
	for _, kv := range info.Settings {
		s = append(s, kv.Key+"="+kv.Value)
	}
	return "built with " + strings.Join(s, " ")
}
