package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// sbomPackage is one package an SBOM lists.
type sbomPackage struct{ Name, Version, License, PURL string }

// sbomView is the SBOM section: its format and packages (the first
// maxSBOMRows; an SBOM is one artifact's, but may list thousands).
type sbomView struct {
	Format   string // spdx or cyclonedx
	Document string // what the document says it is (SPDX-2.3, CycloneDX 1.5)
	Packages []sbomPackage
	Total    int
}

const maxSBOMRows = 500

// sbomFormat is the API's format parameter for the page's choice.
func sbomFormat(f string) string {
	if f == "cyclonedx" {
		return f
	}
	return "spdx"
}

// loadSBOM reads the artifact's SBOM through the API and lists its
// packages; an artifact without one gives the API's message.
func loadSBOM(s *session, path, format string) (*sbomView, error) {
	v := &sbomView{Format: sbomFormat(format)}
	a, err := s.api.get(path+"/additions/sbom?format="+v.Format, nil)
	if statusOf(err) == http.StatusNotFound {
		return v, nil // none generated (yet): the section says so
	}
	if err != nil {
		return v, err
	}
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name             string `json:"name"`
			VersionInfo      string `json:"versionInfo"`
			LicenseConcluded string `json:"licenseConcluded"`
			LicenseDeclared  string `json:"licenseDeclared"`
			ExternalRefs     []struct {
				Type    string `json:"referenceType"`
				Locator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Components  []struct {
			Name     string `json:"name"`
			Version  string `json:"version"`
			PURL     string `json:"purl"`
			Licenses []struct {
				License struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"license"`
				Expression string `json:"expression"`
			} `json:"licenses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(a.body.Bytes(), &doc); err != nil {
		return v, errorText("the SBOM is not JSON the portal reads: " + err.Error())
	}
	for _, p := range doc.Packages {
		pk := sbomPackage{Name: p.Name, Version: p.VersionInfo, License: spdxLicense(p.LicenseConcluded, p.LicenseDeclared)}
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" {
				pk.PURL = r.Locator
			}
		}
		v.Packages = append(v.Packages, pk)
	}
	for _, c := range doc.Components {
		pk := sbomPackage{Name: c.Name, Version: c.Version, PURL: c.PURL}
		var ls []string
		for _, l := range c.Licenses {
			ls = append(ls, firstOf(l.Expression, l.License.ID, l.License.Name))
		}
		pk.License = strings.Join(ls, ", ")
		v.Packages = append(v.Packages, pk)
	}
	switch {
	case doc.SPDXVersion != "":
		v.Document = doc.SPDXVersion
	case doc.BOMFormat != "":
		v.Document = doc.BOMFormat + " " + doc.SpecVersion
	}
	v.Total = len(v.Packages)
	v.Packages = v.Packages[:min(len(v.Packages), maxSBOMRows)]
	return v, nil
}

// spdxLicense is the license SPDX states, skipping its placeholders.
func spdxLicense(concluded, declared string) string {
	for _, l := range []string{concluded, declared} {
		if l != "" && l != "NOASSERTION" && l != "NONE" {
			return l
		}
	}
	return ""
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// downloadSBOM serves the artifact's SBOM as a file: GET
// /projects/{id}/artifact/sbom?repo=&digest=&format=.
func (u *UI) downloadSBOM(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	art, path, ok := u.loadArtifact(w, r, s, p, q.Get("repo"), q.Get("digest"))
	if !ok {
		return
	}
	format := sbomFormat(q.Get("format"))
	a, err := s.api.get(path+"/additions/sbom?format="+format, nil)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	name := q.Get("repo")
	name = name[strings.LastIndex(name, "/")+1:] + "-" + strings.ReplaceAll(shortDigest(art.Digest), ":", "-") + "." + format + ".json"
	ctype := a.header.Get("Content-Type")
	if ctype == "" {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = a.body.WriteTo(w)
}
