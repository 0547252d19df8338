package trust

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Project metadata modes: the content_trust setting of a project
// (project.Metadata.ContentTrust, Harbor's enable_content_trust) names
// one of these. "enabled" is what enable_content_trust=true selects.
var metadataModes = map[string]Policy{
	"off":      {Mode: ModeOff, Format: FormatEither},
	"enabled":  {Mode: ModeAny, Format: FormatEither},
	"any":      {Mode: ModeAny, Format: FormatEither},
	"cosign":   {Mode: ModeAny, Format: FormatCosign},
	"notation": {Mode: ModeAny, Format: FormatNotation},
}

// MetadataMode reads a project's content_trust metadata setting: "" (no
// setting), off, enabled (or any), cosign or notation.
func MetadataMode(s string) (Policy, bool, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Policy{}, false, nil
	}
	p, ok := metadataModes[s]
	if !ok {
		return Policy{}, false, fmt.Errorf("%w: content trust mode %q: want off, enabled, cosign or notation", ErrInvalid, s)
	}
	return p, true, nil
}

// ProjectKey is the key a project's trust settings are kept under when
// they follow the project's ID rather than its name, so that a project
// deleted and created again under the same name starts with none. The
// reference server and the management API key projects this way; a
// program using the Store and Gate alone may key them by name (the
// Gate's default).
func ProjectKey(id int64) string { return "project-id:" + strconv.FormatInt(id, 10) }

// ProjectResolver tells, for a project name, the key its trust settings
// are kept under (ProjectKey, or the name) and its content_trust metadata
// mode ("" for none). It is called on every pull, so it must be quick (a
// project store's cache is).
type ProjectResolver func(ctx context.Context, name string) (key, mode string, err error)

// WithProjects returns Policies that look projects up through resolve:
// settings under the resolved key, and the project's content_trust
// metadata (Harbor's enable_content_trust) honoured when the project has
// no policy of its own in the Store: its mode's policy applies instead of
// the system default. An unknown mode refuses pulls (fail closed).
func WithProjects(p Policies, resolve ProjectResolver) Policies {
	return &projectModes{p: p, resolve: resolve}
}

type projectModes struct {
	p       Policies
	resolve ProjectResolver
}

func (m *projectModes) Effective(ctx context.Context, project string) (Effective, error) {
	key, mode := project, ""
	if project != "" {
		var err error
		if key, mode, err = m.resolve(ctx, project); err != nil {
			return Effective{}, err
		}
	}
	eff, err := m.p.Effective(ctx, key)
	if err != nil {
		return eff, err
	}
	// The version must change when the metadata does: the mode is folded
	// into its low byte (0 when the metadata does not apply).
	eff.Version <<= 8
	if !eff.Inherited || project == "" {
		return eff, nil
	}
	p, ok, err := MetadataMode(mode)
	if err != nil {
		// Fail closed: a signers policy naming nobody refuses every pull.
		p, ok = Policy{Mode: ModeSigners, Signers: []string{fmt.Sprintf("(invalid content_trust mode %q)", mode)}}, true
	}
	if !ok {
		return eff, nil
	}
	eff.Policy = p
	eff.Version |= uint64(modeCode(mode))
	return eff, nil
}

func modeCode(s string) uint8 {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off":
		return 1
	case "enabled":
		return 2
	case "any":
		return 3
	case "cosign":
		return 4
	case "notation":
		return 5
	}
	return 255
}
