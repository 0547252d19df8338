package project

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"unicode"
)

// Unlimited is the StorageQuota of a project without a quota.
const Unlimited int64 = -1

// Bounds on Metadata.
const (
	MaxExtraKeys      = 256
	MaxExtraKeyLength = 128
	MaxExtraValueSize = 4096
	maxModeLength     = 64
)

// Metadata holds a project's settings, stored as one JSON document so later
// features add fields without a migration. The JSON names are Harbor's
// project metadata keys where Harbor has one.
type Metadata struct {
	// AutoScan scans every artifact pushed into the project.
	AutoScan bool `json:"auto_scan,omitempty"`
	// PreventVulnerable refuses pulls of artifacts with vulnerabilities of
	// Severity or above.
	PreventVulnerable bool `json:"prevent_vul,omitempty"`
	// Severity is the threshold of PreventVulnerable: "", "none",
	// "unknown", "negligible", "low", "medium", "high" or "critical"
	// (stored lower-case).
	Severity string `json:"severity,omitempty"`
	// ContentTrust names the signature policy mode pulls must satisfy
	// ("" = off); the trust package defines the modes.
	ContentTrust string `json:"content_trust,omitempty"`
	// ReuseSysCVEAllowlist applies the system CVE allowlist instead of a
	// project one.
	ReuseSysCVEAllowlist bool `json:"reuse_sys_cve_allowlist,omitempty"`
	// StorageQuota is the byte limit of the project; Unlimited (-1) for
	// none. 0 is read as Unlimited, so the zero Metadata has no quota.
	StorageQuota int64 `json:"storage_quota,omitempty"`
	// RegistryID, when not 0, makes the project a proxy cache of that
	// registry endpoint (Harbor's registry_id): pulls fetch what it lacks
	// from the upstream, pushes are refused. It is set on creation only.
	RegistryID int64 `json:"registry_id,omitempty"`
	// ProxySpeedKB bounds a proxy cache's downloads from its upstream, in
	// KiB per second (Harbor's proxy_speed_kb); 0 or -1: no limit.
	ProxySpeedKB int64 `json:"proxy_speed_kb,omitempty"`
	// Extra holds settings this version does not know, kept as is.
	Extra map[string]string `json:"extra,omitempty"`
}

// validSeverity reports whether s is one of Harbor's severities (or "").
func validSeverity(s string) bool {
	switch s {
	case "", "none", "unknown", "negligible", "low", "medium", "high", "critical":
		return true
	}
	return false
}

// normalized returns a copy of m in stored form, or an error wrapping
// ErrInvalid.
func (m Metadata) normalized() (Metadata, error) {
	bad := func(format string, args ...any) (Metadata, error) {
		return Metadata{}, fmt.Errorf("%w: project metadata: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	m.Severity = strings.ToLower(strings.TrimSpace(m.Severity))
	if !validSeverity(m.Severity) {
		return bad("severity %q; want none, unknown, negligible, low, medium, high or critical", m.Severity)
	}
	if len(m.ContentTrust) > maxModeLength || !printable(m.ContentTrust) {
		return bad("content trust mode %q", m.ContentTrust)
	}
	switch {
	case m.StorageQuota == 0:
		m.StorageQuota = Unlimited
	case m.StorageQuota < Unlimited:
		return bad("storage quota %d; want a byte count or -1 for unlimited", m.StorageQuota)
	}
	if m.RegistryID < 0 {
		return bad("registry id %d; want an endpoint's id", m.RegistryID)
	}
	if m.ProxySpeedKB < -1 {
		return bad("proxy speed %d KiB/s; want a rate, or -1 for no limit", m.ProxySpeedKB)
	}
	if m.ProxySpeedKB != 0 && m.RegistryID == 0 {
		return bad("a proxy speed is for proxy cache projects (registry_id) only")
	}
	if len(m.Extra) > MaxExtraKeys {
		return bad("%d extra settings, the limit is %d", len(m.Extra), MaxExtraKeys)
	}
	for k, v := range m.Extra {
		if k == "" || len(k) > MaxExtraKeyLength || !printable(k) {
			return bad("extra setting name %q", k)
		}
		if len(v) > MaxExtraValueSize {
			return bad("extra setting %q is %d bytes, the limit is %d", k, len(v), MaxExtraValueSize)
		}
	}
	m.Extra = m.cloneExtra()
	return m, nil
}

func (m Metadata) cloneExtra() map[string]string {
	if len(m.Extra) == 0 {
		return nil
	}
	return maps.Clone(m.Extra)
}

func (m Metadata) encode() (string, error) {
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeMetadata(s string) (Metadata, error) {
	var m Metadata
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return Metadata{}, fmt.Errorf("project metadata: %w", err)
	}
	if m.StorageQuota == 0 {
		m.StorageQuota = Unlimited
	}
	return m, nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
