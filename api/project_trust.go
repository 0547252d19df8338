package api

import (
	"context"
	"fmt"
	"strconv"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/trust"
)

// One source of truth for a project's content trust. With the trust
// endpoints wired (WithTrust), it is the project's policy in the trust
// store, else the system default: the metadata enable_content_trust,
// enable_content_trust_cosign and content_trust show that policy and
// writing them writes it (and clears the older content_trust metadata
// mode, which the gate reads only for projects without a policy). A
// project holding such a mode and no policy (set by an earlier version)
// shows the mode, as the gate enforces it. Without the trust endpoints the
// metadata mode is all there is.

// projectTrust is the content trust policy in force in p, and whether it
// is the system default.
func (a *API) projectTrust(ctx context.Context, p project.Project) (trust.Policy, bool, error) {
	mode, set, err := trust.MetadataMode(p.Metadata.ContentTrust)
	if err != nil {
		// The gate fails closed on an unknown mode: show it enforcing.
		mode, set = trust.Policy{Mode: trust.ModeSigners, Signers: []string{p.Metadata.ContentTrust}}, true
	}
	stores := a.cfg.trust.stores
	if stores == nil {
		if !set {
			mode = trust.Policy{Mode: trust.ModeOff}
		}
		return normalPolicy(mode), false, nil
	}
	own, ok, err := stores.Policy(ctx, trust.ProjectKey(p.ID))
	switch {
	case err != nil:
		return trust.Policy{}, false, err
	case ok:
		return normalPolicy(own), false, nil
	case set:
		return normalPolicy(mode), false, nil
	}
	sys, _, err := stores.Policy(ctx, "")
	return normalPolicy(sys), true, err
}

func normalPolicy(p trust.Policy) trust.Policy {
	if p.Mode == "" {
		p.Mode = trust.ModeOff
	}
	if p.Format == "" {
		p.Format = trust.FormatEither
	}
	return p
}

// trustName names a policy as content_trust shows it.
func trustName(p trust.Policy) string {
	switch {
	case p.Mode == trust.ModeOff:
		return ""
	case p.Mode == trust.ModeSigners:
		return string(trust.ModeSigners)
	case p.Format == trust.FormatCosign || p.Format == trust.FormatNotation:
		return string(p.Format)
	}
	return "enabled"
}

// showTrust fills md's content trust fields from the policy in force.
func showTrust(md *ProjectMetadata, p trust.Policy) {
	on := p.Mode != trust.ModeOff
	name := trustName(p)
	md.EnableContentTrust, md.EnableContentTrustCosign = boolString(on), boolString(on && p.Format == trust.FormatCosign)
	md.ContentTrust = &name
}

// trustWanted is the policy the content trust fields of md ask for in a
// project whose policy in force is cur, or nil when they ask no change
// (a client sending back what it read changes nothing, so a signers
// policy survives enable_content_trust=true).
func trustWanted(cur trust.Policy, md *ProjectMetadata) (*trust.Policy, error) {
	if md == nil {
		return nil, nil
	}
	if ct := md.ContentTrust; ct != nil {
		if *ct == trustName(cur) {
			return nil, nil
		}
		p, ok, err := trust.MetadataMode(*ct)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("metadata.content_trust %q: want \"\" (off), enabled, cosign or notation; "+
				"set a signers policy with /trust/policy", *ct))
		}
		if !ok {
			p = trust.Policy{Mode: trust.ModeOff}
		}
		p = normalPolicy(p)
		return &p, nil
	}
	flag := func(name string, v *string) (*bool, error) {
		if v == nil {
			return nil, nil
		}
		b, err := strconv.ParseBool(*v)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("metadata.%s %q: want \"true\" or \"false\"", name, *v))
		}
		return &b, nil
	}
	ect, err := flag("enable_content_trust", md.EnableContentTrust)
	if err != nil {
		return nil, err
	}
	cosign, err := flag("enable_content_trust_cosign", md.EnableContentTrustCosign)
	if err != nil {
		return nil, err
	}
	on, isCosign := cur.Mode != trust.ModeOff, cur.Mode != trust.ModeOff && cur.Format == trust.FormatCosign
	wantOn, wantCosign := on, isCosign
	if ect != nil {
		wantOn = *ect
	}
	if cosign != nil {
		wantCosign = *cosign
		wantOn = wantOn || *cosign
	}
	wantCosign = wantCosign && wantOn
	if wantOn == on && wantCosign == isCosign {
		return nil, nil
	}
	p := trust.Policy{Mode: trust.ModeOff, Format: trust.FormatEither}
	switch {
	case wantCosign:
		p = trust.Policy{Mode: trust.ModeAny, Format: trust.FormatCosign}
	case wantOn:
		p.Mode = trust.ModeAny
	}
	return &p, nil
}

// trustRequest is the change a project request asks of content trust in
// p (nil p: a project being created), or nil.
func (a *API) trustRequest(ctx context.Context, p *project.Project, md *ProjectMetadata) (*trust.Policy, error) {
	if md == nil || (md.ContentTrust == nil && md.EnableContentTrust == nil && md.EnableContentTrustCosign == nil) {
		return nil, nil
	}
	cur := trust.Policy{Mode: trust.ModeOff, Format: trust.FormatEither}
	if p != nil {
		var err error
		if cur, _, err = a.projectTrust(ctx, *p); err != nil {
			return nil, err
		}
	} else if a.cfg.trust.stores != nil {
		sys, _, err := a.cfg.trust.stores.Policy(ctx, "")
		if err != nil {
			return nil, err
		}
		cur = normalPolicy(sys)
	}
	return trustWanted(cur, md)
}

// trustInMetadata records want in the project's metadata, inside its
// update: the mode itself without the trust endpoints; with them, no mode
// at all, as the policy (storeTrust) says it.
func (a *API) trustInMetadata(md *project.Metadata, want *trust.Policy) {
	if want == nil {
		return
	}
	if a.cfg.trust.stores != nil {
		md.ContentTrust = ""
		return
	}
	md.ContentTrust = trustName(*want)
}

// storeTrust writes want as the project's policy, after the project's
// update, when the trust endpoints are wired.
func (a *API) storeTrust(ctx context.Context, p project.Project, want *trust.Policy) error {
	if want == nil || a.cfg.trust.stores == nil {
		return nil
	}
	return a.cfg.trust.stores.SetPolicy(ctx, trust.ProjectKey(p.ID), *want)
}

// dropTrustMetadata clears the project's older content_trust mode after
// its policy was set or reset through /trust/policy, so that the policy,
// or the system default, is what the project shows and enforces.
func (a *API) dropTrustMetadata(ctx context.Context, p project.Project) error {
	if p.Metadata.ContentTrust == "" {
		return nil
	}
	_, err := a.deps.Projects.Update(ctx, p.Name, func(cur *project.Project) error {
		cur.Metadata.ContentTrust = ""
		return nil
	})
	return err
}
