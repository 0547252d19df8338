package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
)

// Icon is an icon as Harbor serves it: its bytes, base64-encoded.
type Icon struct {
	ContentType string `json:"content-type"`
	Content     string `json:"content" doc:"base64 of the icon's bytes"`
}

// The icons berth draws for the artifact and accessory types it knows:
// small SVGs, named by the sha256 of their bytes as Harbor names its icons.
const (
	iconImageSVG     = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="3" y="9" width="26" height="18" rx="2" fill="#1d63ed"/><rect x="7" y="5" width="18" height="4" fill="#5b8def"/></svg>`
	iconChartSVG     = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="12" fill="none" stroke="#0f1689" stroke-width="3"/><circle cx="16" cy="16" r="3" fill="#0f1689"/><path d="M16 4v24M4 16h24M7.5 7.5l17 17M24.5 7.5l-17 17" stroke="#0f1689" stroke-width="2"/></svg>`
	iconSignatureSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 3l11 4v8c0 7-5 12-11 14C10 27 5 22 5 15V7z" fill="#2e7d32"/><path d="M11 16l4 4 7-8" fill="none" stroke="#fff" stroke-width="3"/></svg>`
	iconSBOMSVG      = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="6" y="3" width="20" height="26" rx="2" fill="#6a1b9a"/><path d="M10 10h12M10 15h12M10 20h8" stroke="#fff" stroke-width="2"/></svg>`
	iconDefaultSVG   = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="5" y="5" width="22" height="22" rx="3" fill="#757575"/><text x="16" y="21" font-size="14" text-anchor="middle" fill="#fff">?</text></svg>`
)

// iconFor is the SVG of an artifact type (Artifact.Type) or accessory type
// (Accessory.Type); the default icon for the others.
func iconFor(kind string) string {
	switch kind {
	case "IMAGE":
		return iconImageSVG
	case "CHART":
		return iconChartSVG
	case accSignatureCosign, accSignatureNotation:
		return iconSignatureSVG
	case accSBOM:
		return iconSBOMSVG
	}
	return iconDefaultSVG
}

func iconDigest(svg string) string {
	sum := sha256.Sum256([]byte(svg))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// iconOf is the digest of the icon of an artifact or accessory type.
func iconOf(kind string) string { return iconDigest(iconFor(kind)) }

// getIcon serves an icon by digest. Icons are not secret: anyone may
// fetch them, as in Harbor.
func (a *API) getIcon(c *call) error {
	d := c.r.PathValue("digest")
	for _, svg := range []string{iconImageSVG, iconChartSVG, iconSignatureSVG, iconSBOMSVG, iconDefaultSVG} {
		if iconDigest(svg) == d {
			c.w.Header().Set("Cache-Control", "public, max-age=86400")
			return c.json(http.StatusOK, Icon{ContentType: "image/svg+xml", Content: base64.StdEncoding.EncodeToString([]byte(svg))})
		}
	}
	return notFound("no icon with digest " + quoteShort(d))
}

// quoteShort quotes s, cut to a length fit for a message.
func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}
