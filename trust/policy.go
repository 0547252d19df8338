package trust

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Mode is what a policy requires of a pull.
type Mode string

// Policy modes.
const (
	// ModeOff lets every pull through.
	ModeOff Mode = "off"
	// ModeAny requires one valid signature made by a key or certificate of
	// the trust store.
	ModeAny Mode = "any"
	// ModeSigners requires one valid signature made by a named signer.
	ModeSigners Mode = "signers"
)

// Format is a signature format.
type Format string

// Signature formats. FormatEither in a policy accepts both.
const (
	FormatCosign   Format = "cosign"
	FormatNotation Format = "notation"
	FormatEither   Format = "either"
)

// Policy is a project's (or the system's) content trust policy: a plain
// value, evaluated by Evaluate.
type Policy struct {
	Mode Mode `json:"mode"`
	// Format restricts the signatures that count: cosign, notation or
	// either ("" is either).
	Format Format `json:"format,omitempty"`
	// Signers names the trusted signers ModeSigners requires, any one of
	// them: a trust store entry's name, a key ID ("sha256:<hex>" of the
	// public key's DER, a unique prefix of at least 12 hex digits also
	// matches), or a certificate subject ("CN=builder,O=Example").
	Signers []string `json:"signers,omitempty"`
}

// Bounds on a policy.
const (
	MaxSigners      = 64
	maxSignerLength = 512
)

// Validate checks a policy and returns it in canonical form.
func (p Policy) Validate() (Policy, error) {
	switch p.Mode {
	case "":
		p.Mode = ModeOff
	case ModeOff, ModeAny, ModeSigners:
	default:
		return p, fmt.Errorf("%w: mode %q: want off, any or signers", ErrInvalid, p.Mode)
	}
	switch p.Format {
	case "":
		p.Format = FormatEither
	case FormatCosign, FormatNotation, FormatEither:
	default:
		return p, fmt.Errorf("%w: format %q: want cosign, notation or either", ErrInvalid, p.Format)
	}
	if len(p.Signers) > MaxSigners {
		return p, fmt.Errorf("%w: %d signers, the limit is %d", ErrInvalid, len(p.Signers), MaxSigners)
	}
	out := make([]string, 0, len(p.Signers))
	for _, s := range p.Signers {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > maxSignerLength {
			return p, fmt.Errorf("%w: signer %q: want a name, key ID or certificate subject of at most %d bytes", ErrInvalid, s, maxSignerLength)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	p.Signers = out
	if p.Mode == ModeSigners && len(p.Signers) == 0 {
		return p, fmt.Errorf("%w: mode signers needs at least one signer", ErrInvalid)
	}
	return p, nil
}

// Signature is one signature found on an artifact, after verification.
type Signature struct {
	Format Format `json:"format"`
	// Form is how it was found: "tag" (cosign's sha256-<hex>.sig),
	// "referrer" (cosign's OCI 1.1 form), "bundle" (a sigstore bundle),
	// "jws" or "cose" (Notation envelopes).
	Form string `json:"form"`
	// Manifest is the digest of the manifest that carries it.
	Manifest digest.Digest `json:"manifest"`
	// Verified is true when the signature is cryptographically valid, is
	// over the artifact's digest, and was made by a key or certificate of
	// the trust store.
	Verified bool `json:"verified"`
	// Signer identifies who made a verified signature (and, for a valid
	// signature by an unknown key, the key if the format says).
	Signer Signer `json:"signer"`
	// Reason says why the signature is not verified.
	Reason string `json:"reason,omitempty"`
}

// Signer is who made a signature.
type Signer struct {
	Name    string `json:"name,omitempty"`    // the trust store entry's name
	KeyID   string `json:"key_id,omitempty"`  // sha256:<hex> of the public key (DER)
	Subject string `json:"subject,omitempty"` // certificate subject, for certificates
}

func (s Signer) String() string {
	var parts []string
	if s.Name != "" {
		parts = append(parts, fmt.Sprintf("%q", s.Name))
	}
	if s.Subject != "" {
		parts = append(parts, "subject "+s.Subject)
	}
	if s.KeyID != "" {
		parts = append(parts, "key "+shortKeyID(s.KeyID))
	}
	if len(parts) == 0 {
		return "an unknown signer"
	}
	return strings.Join(parts, ", ")
}

func shortKeyID(id string) string {
	if len(id) > len("sha256:")+16 {
		return id[:len("sha256:")+16] + "…"
	}
	return id
}

// matches reports whether name designates s.
func (s Signer) matches(name string) bool {
	switch {
	case name == "":
		return false
	case s.Name != "" && name == s.Name:
		return true
	case s.Subject != "" && sameSubject(name, s.Subject):
		return true
	case s.KeyID != "":
		if name == s.KeyID {
			return true
		}
		hex := strings.TrimPrefix(name, "sha256:")
		return len(hex) >= 12 && strings.HasPrefix(s.KeyID, "sha256:"+strings.ToLower(hex))
	}
	return false
}

// sameSubject compares distinguished names, ignoring spaces after commas.
func sameSubject(a, b string) bool {
	norm := func(s string) string {
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return strings.Join(parts, ",")
	}
	return norm(a) == norm(b)
}

// Artifact is what a decision is about.
type Artifact struct {
	Repository string
	Digest     digest.Digest
}

// Decision is the answer of Evaluate.
type Decision struct {
	Allowed bool
	// Reason is readable by a person, for allowed and refused pulls.
	Reason string
	// Signers are the trusted signers that satisfied the policy.
	Signers []Signer
}

// Evaluate decides whether a policy lets art be pulled, given the
// signatures found on it and verified. It is a pure function.
func Evaluate(art Artifact, sigs []Signature, p Policy) Decision {
	p, err := p.Validate()
	if err != nil {
		return Decision{Reason: "the content trust policy is invalid: " + err.Error()}
	}
	if p.Mode == ModeOff {
		return Decision{Allowed: true, Reason: "content trust is off"}
	}
	var ok []Signer
	for _, s := range sigs {
		if !s.Verified || !formatCounts(p.Format, s.Format) {
			continue
		}
		if p.Mode == ModeAny || slices.ContainsFunc(p.Signers, s.Signer.matches) {
			ok = append(ok, s.Signer)
		}
	}
	if len(ok) > 0 {
		names := make([]string, len(ok))
		for i, s := range ok {
			names[i] = s.String()
		}
		return Decision{Allowed: true, Signers: ok, Reason: "signed by " + strings.Join(names, "; ")}
	}
	return Decision{Reason: refusal(art, sigs, p)}
}

func formatCounts(want, got Format) bool { return want == FormatEither || want == "" || want == got }

// refusal explains why no signature satisfied p.
func refusal(art Artifact, sigs []Signature, p Policy) string {
	what := "a trusted signer"
	if p.Mode == ModeSigners {
		what = "one of the signers " + strings.Join(quoteAll(p.Signers), ", ")
	}
	if p.Format != FormatEither {
		what += " with a " + string(p.Format) + " signature"
	}
	ref := art.Digest.String()
	if art.Repository != "" {
		ref = art.Repository + "@" + ref
	}
	if len(sigs) == 0 {
		return fmt.Sprintf("%s is not signed by %s: no signature found", ref, what)
	}
	count := map[Format]int{}
	for _, s := range sigs {
		count[s.Format]++
	}
	var found []string
	for _, f := range []Format{FormatCosign, FormatNotation} {
		if n := count[f]; n > 0 {
			found = append(found, fmt.Sprintf("%d %s signature%s", n, f, plural(n)))
		}
	}
	var why []string
	for i, s := range sigs {
		if i == 4 {
			why = append(why, fmt.Sprintf("and %d more", len(sigs)-i))
			break
		}
		switch {
		case !s.Verified:
			why = append(why, fmt.Sprintf("%s (%s): %s", s.Format, s.Form, s.Reason))
		case !formatCounts(p.Format, s.Format):
			why = append(why, fmt.Sprintf("%s: by %s, but the policy requires %s signatures", s.Format, s.Signer, p.Format))
		default:
			why = append(why, fmt.Sprintf("%s: by %s, who is not a named signer", s.Format, s.Signer))
		}
	}
	return fmt.Sprintf("%s is not signed by %s: found %s; %s", ref, what, strings.Join(found, " and "), strings.Join(why, "; "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
