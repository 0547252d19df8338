package scan

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxAllowlistItems bounds one allowlist.
const MaxAllowlistItems = 10000

// Allowlist names vulnerabilities the gate ignores: the system allowlist,
// or a project's. It applies until ExpiresAt (zero: never expires).
type Allowlist struct {
	Items     []string  `json:"items"` // vulnerability IDs: CVE-2024-1234, GHSA-...
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Active reports whether the allowlist applies at now.
func (a Allowlist) Active(now time.Time) bool {
	return len(a.Items) > 0 && (a.ExpiresAt.IsZero() || now.Before(a.ExpiresAt))
}

// Contains reports whether id is on the list, ignoring case.
func (a Allowlist) Contains(id string) bool {
	return slices.ContainsFunc(a.Items, func(it string) bool { return strings.EqualFold(it, id) })
}

// Normalized returns the list with IDs trimmed, upper-cased, sorted and
// deduplicated, or an error for an empty or oversized ID.
func (a Allowlist) Normalized() (Allowlist, error) {
	if len(a.Items) > MaxAllowlistItems {
		return a, fmt.Errorf("%w: allowlist has %d items, the limit is %d", ErrInvalid, len(a.Items), MaxAllowlistItems)
	}
	out := make([]string, 0, len(a.Items))
	for _, it := range a.Items {
		it = strings.ToUpper(strings.TrimSpace(it))
		if it == "" || len(it) > 128 || strings.ContainsFunc(it, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return a, fmt.Errorf("%w: allowlist item %q: want a vulnerability ID such as CVE-2024-1234", ErrInvalid, it)
		}
		out = append(out, it)
	}
	slices.Sort(out)
	a.Items = slices.Compact(out)
	if !a.ExpiresAt.IsZero() {
		a.ExpiresAt = a.ExpiresAt.UTC()
	}
	return a, nil
}
