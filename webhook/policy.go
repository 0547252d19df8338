package webhook

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berthlabs/berth/core"
)

// Errors, matched with errors.Is; each is core's kind, so an API maps
// them to 404, 409 and 400.
var (
	ErrNotFound = core.ErrNotFound
	ErrExists   = core.ErrExists
	ErrInvalid  = core.ErrInvalid
)

// TargetHTTP is the one target type: an HTTP(S) POST.
const TargetHTTP = "http"

// Limits of a policy.
const (
	MaxTargets        = 8
	MaxNameLen        = 256
	MaxDescriptionLen = 1024
	MaxAddressLen     = 2048
	MaxAuthHeaderLen  = 4096
	MinSecretLen      = 16
	MaxSecretLen      = 256
)

// Policy is a project's webhook: which events go to which targets.
type Policy struct {
	ID int64 // assigned by Create, never reused
	// ProjectID is the owning project's immutable id.
	ProjectID   int64
	Name        string // unique within the project
	Description string
	Enabled     bool
	EventTypes  []EventType
	Targets     []Target
	// Secret signs every delivery (HeaderSignature). It is write-only:
	// Create returns it (generated when empty) and Update replaces it when
	// set; Get and List leave it empty.
	Secret    string
	Creator   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Target is where a policy's events are sent.
type Target struct {
	Type    string // TargetHTTP ("" means it)
	Address string // an http or https URL
	// AuthHeader, when set, is sent as the Authorization header. It is
	// stored sealed under the service's secret key (WithSecretKey).
	AuthHeader     string
	SkipCertVerify bool
	PayloadFormat  PayloadFormat // FormatDefault ("" means it) or FormatCloudEvents
}

// invalid is a validation error a person can read, matching ErrInvalid.
func invalid(format string, args ...any) error {
	return core.New(ErrInvalid, "webhook: "+fmt.Sprintf(format, args...))
}

// normalize checks p as Create and Update store it and fills defaults.
// It returns the normalized copy.
func (p Policy) normalize() (Policy, error) {
	if p.ProjectID <= 0 {
		return p, invalid("a policy needs a project id")
	}
	p.Name = strings.TrimSpace(p.Name)
	switch {
	case p.Name == "":
		return p, invalid("a policy needs a name")
	case len(p.Name) > MaxNameLen:
		return p, invalid("the policy name is %d bytes, more than %d", len(p.Name), MaxNameLen)
	case !printable(p.Name):
		return p, invalid("the policy name %q holds control characters or invalid UTF-8", p.Name)
	}
	if len(p.Description) > MaxDescriptionLen {
		return p, invalid("the description is %d bytes, more than %d", len(p.Description), MaxDescriptionLen)
	}
	if !utf8.ValidString(p.Description) || strings.ContainsRune(p.Description, 0) {
		return p, invalid("the description is not valid UTF-8 or holds a NUL byte")
	}
	if len(p.EventTypes) == 0 {
		return p, invalid("policy %q subscribes to no event type", p.Name)
	}
	seen := map[EventType]bool{}
	types := make([]EventType, 0, len(p.EventTypes))
	for _, t := range p.EventTypes {
		if !t.Known() {
			return p, invalid("unknown event type %q (known: %s)", t, knownTypes())
		}
		if !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	p.EventTypes = types
	switch n := len(p.Targets); {
	case n == 0:
		return p, invalid("policy %q has no target", p.Name)
	case n > MaxTargets:
		return p, invalid("policy %q has %d targets, more than %d", p.Name, n, MaxTargets)
	}
	targets := make([]Target, len(p.Targets))
	addrs := map[string]bool{}
	for i, t := range p.Targets {
		t, err := t.normalize()
		if err != nil {
			return p, fmt.Errorf("%w (target %d)", err, i+1)
		}
		if addrs[t.Address] {
			return p, invalid("the address %s appears twice in policy %q", redact(t.Address), p.Name)
		}
		addrs[t.Address] = true
		targets[i] = t
	}
	p.Targets = targets
	if p.Secret != "" {
		if err := validSecret(p.Secret); err != nil {
			return p, err
		}
	}
	return p, nil
}

func validSecret(s string) error {
	if len(s) < MinSecretLen || len(s) > MaxSecretLen {
		return invalid("the signing secret must be %d to %d bytes, not %d", MinSecretLen, MaxSecretLen, len(s))
	}
	return nil
}

// normalize checks a target and fills its defaults.
func (t Target) normalize() (Target, error) {
	if t.Type == "" {
		t.Type = TargetHTTP
	}
	if t.Type != TargetHTTP {
		return t, invalid("target type %q is not supported (only %q)", t.Type, TargetHTTP)
	}
	switch t.PayloadFormat {
	case "":
		t.PayloadFormat = FormatDefault
	case FormatDefault, FormatCloudEvents:
	default:
		return t, invalid("payload format %q is not supported (%q or %q)", t.PayloadFormat, FormatDefault, FormatCloudEvents)
	}
	addr, err := ParseAddress(t.Address)
	if err != nil {
		return t, err
	}
	t.Address = addr
	if len(t.AuthHeader) > MaxAuthHeaderLen {
		return t, invalid("the auth header is %d bytes, more than %d", len(t.AuthHeader), MaxAuthHeaderLen)
	}
	for _, r := range t.AuthHeader {
		if r < ' ' && r != '\t' || r == 0x7f {
			return t, invalid("the auth header holds control characters")
		}
	}
	return t, nil
}

// ParseAddress checks a target address as policies take it: an absolute
// http or https URL with a host and no user information (credentials go
// in the auth header) or fragment, at most MaxAddressLen bytes. It returns
// the address with its scheme and host in lower case.
func ParseAddress(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalid("a target needs an address")
	}
	if len(raw) > MaxAddressLen {
		return "", invalid("the address is %d bytes, more than %d", len(raw), MaxAddressLen)
	}
	if !printable(raw) || strings.ContainsAny(raw, " \t") {
		return "", invalid("the address holds spaces, control characters or invalid UTF-8")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return "", invalid("the address is not a URL: %v", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", invalid("the address %s must be an http or https URL", redact(raw))
	case u.Opaque != "" || u.Host == "":
		return "", invalid("the address %s has no host", redact(raw))
	case u.User != nil:
		return "", invalid("the address must not hold user information; put credentials in the auth header")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", invalid("the address %s must not have a fragment", redact(raw))
	}
	if h := u.Hostname(); h == "" || strings.ContainsAny(h, "/\\") {
		return "", invalid("the address %s has no valid host", redact(raw))
	}
	if p := u.Port(); p != "" {
		if n := portNumber(p); n < 1 || n > 65535 {
			return "", invalid("the address %s has an invalid port", redact(raw))
		}
	}
	u.Host = strings.ToLower(u.Host)
	return u.String(), nil
}

func portNumber(p string) int {
	if len(p) > 5 {
		return -1
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// redact is an address for messages: its query (which may hold tokens)
// left out.
func redact(addr string) string {
	if i := strings.IndexAny(addr, "?#"); i >= 0 {
		addr = addr[:i] + "?…"
	}
	return fmt.Sprintf("%q", addr)
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func knownTypes() string {
	var b strings.Builder
	for i, t := range EventTypes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(t))
	}
	return b.String()
}

// Subscribes reports whether p is enabled and subscribes to t.
func (p Policy) Subscribes(t EventType) bool {
	if !p.Enabled {
		return false
	}
	for _, x := range p.EventTypes {
		if x == t {
			return true
		}
	}
	return false
}
