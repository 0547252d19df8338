package scan

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
)

// Scannable reports whether a manifest is one a vulnerability scanner reads
// and the gate judges: an image manifest (OCI or Docker) of a container
// image. Indexes are not (their platform manifests are, one by one, and a
// client pulling through an index fetches them by digest), nor artifacts
// such as charts, signatures and SBOMs.
func Scannable(mediaType, artifactType string) bool {
	switch mediaType {
	case v1.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json":
	default:
		return false
	}
	switch artifactType {
	case "", v1.MediaTypeImageConfig, "application/vnd.docker.container.image.v1+json":
		return true
	}
	return false
}

// projectOf is the first path component of a repository name.
func projectOf(repo string) string {
	p, _, _ := strings.Cut(repo, "/")
	return p
}

// Policy returns a project's pull policy as the gate applies it.
func (s *Service) Policy(ctx context.Context, proj project.Project) (Policy, error) {
	md := proj.Metadata
	p := Policy{Enabled: md.PreventVulnerable, Unscanned: s.unscanned, Failed: s.failed}
	if md.Severity != "" {
		sev, err := ParseSeverity(md.Severity)
		if err != nil {
			return p, err
		}
		p.Threshold = sev
	}
	if !p.Enabled {
		return p, nil
	}
	id := proj.ID
	if md.ReuseSysCVEAllowlist {
		id = 0
	}
	a, ok := s.policies.get(policyKey(id))
	if !ok {
		ticket := s.policies.ticket()
		var err error
		if a, err = s.st.allowlist(ctx, id); err != nil {
			return p, err
		}
		s.policies.put(policyKey(id), a, ticket)
	}
	p.Allowlist = a
	return p, nil
}

// Evidence returns what is known of an artifact's scans, for the gate.
func (s *Service) Evidence(ctx context.Context, digest string) (Evidence, error) {
	if e, ok := s.cache.get(digest); ok {
		return e, nil
	}
	var e Evidence
	ticket := s.cache.ticket()
	vs, ok, err := s.st.latestFindings(ctx, digest)
	if err != nil {
		return e, err
	}
	if ok {
		e = Evidence{State: Scanned, Vulnerabilities: vs}
	} else {
		t, found, err := s.st.latestTask(ctx, digest, KindVulnerability)
		if err != nil {
			return e, err
		}
		switch {
		case !found, t.Status == StatusStopped, t.Status == StatusSuccess:
			e.State = NotScanned
		case t.Status == StatusError:
			e.State = ScanFailed
		default:
			e.State = Scanning
		}
	}
	s.cache.put(digest, e, ticket)
	return e, nil
}

// Gate returns the registry.PullGate that refuses pulls the projects'
// vulnerability policies forbid, with 412 and a readable reason. Manifests
// with a subject (signatures, SBOMs), non-image artifacts and pulls by
// exempt callers (WithExempt) always pass.
func (s *Service) Gate() registry.PullGate { return gate{s} }

type gate struct{ s *Service }

func (g gate) CheckPull(ctx context.Context, t registry.Target) error {
	s := g.s
	if t.Subject != "" || !Scannable(t.MediaType, t.ArtifactType) || s.projects == nil || s.exempt(registry.ActorFrom(ctx)) {
		return nil
	}
	proj, err := s.projects.Get(ctx, projectOf(t.Repository))
	if errors.Is(err, project.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !proj.Metadata.PreventVulnerable {
		return nil
	}
	pol, err := s.Policy(ctx, proj)
	if err != nil {
		return err
	}
	ev, err := s.Evidence(ctx, t.Digest.String())
	if err != nil {
		return err
	}
	d := Evaluate(pol, ev, s.now())
	if d.Allowed {
		return nil
	}
	hint := ""
	if len(d.Blocking) > 0 {
		hint = ". Fix them, or have a project admin add them to the CVE allowlist"
	}
	return registry.Denied(fmt.Sprintf("pull of %s@%s refused by project %q's vulnerability policy: %s%s",
		t.Repository, t.Digest, proj.Name, d.Reason, hint))
}
