package scan

import (
	"context"
	"errors"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
)

// AutoSBOMKey is the project metadata key (in Metadata.Extra, Harbor's
// name) that turns on SBOM generation on push: "true".
const AutoSBOMKey = "auto_sbom_generation"

// pushed is a manifest push waiting to be looked at.
type pushed struct {
	art Artifact
}

// Sink returns the registry.EventSink that scans artifacts pushed into
// projects with AutoScan, and generates SBOMs for those with
// auto_sbom_generation. Emit only hands the event to a background
// goroutine; when that one falls behind by more than 1024 pushes, Emit
// waits rather than drops. Pushes are not persisted before they are
// handed off: a crash in between loses the scan on push (scan-all, or a
// manual scan, catches it up).
func (s *Service) Sink() registry.EventSink { return sink{s} }

type sink struct{ s *Service }

func (k sink) Emit(ctx context.Context, e registry.Event) {
	if e.Action != registry.EventPush || e.Target != registry.TargetManifest || e.Subject != "" ||
		!Scannable(e.MediaType, e.ArtifactType) {
		return
	}
	p := pushed{art: Artifact{Repository: e.Repository, Digest: e.Digest, MediaType: e.MediaType}}
	select {
	case k.s.pushq <- p:
		return
	default:
	}
	// Behind: wait for room rather than drop the push (the request's
	// context is not consulted: the push has happened).
	select {
	case k.s.pushq <- p:
	case <-k.s.closed:
	}
}

func (s *Service) drainPushes() {
	defer s.wg.Done()
	for {
		select {
		case <-s.closed:
			return
		case p := <-s.pushq:
			s.onPush(context.Background(), p.art)
		}
	}
}

// onPush scans (and generates SBOMs for) a pushed artifact as its
// project asks. An artifact already scanned (a new tag of known content)
// is not scanned again.
func (s *Service) onPush(ctx context.Context, a Artifact) {
	if s.projects == nil || s.queue == nil {
		return
	}
	proj, err := s.projects.Get(ctx, projectOf(a.Repository))
	if errors.Is(err, project.ErrNotFound) {
		return
	}
	if err != nil {
		s.log.WarnContext(ctx, "scan on push: reading the project", "repository", a.Repository, "err", err)
		return
	}
	if proj.Metadata.AutoScan {
		if _, done, err := s.st.latestInfo(ctx, a.Digest.String()); err != nil || !done {
			if _, err := s.ScanArtifact(ctx, a, TriggerPush); err != nil {
				s.log.WarnContext(ctx, "scan on push", "artifact", a.Repository+"@"+a.Digest.String(), "err", err)
			}
		}
	}
	if proj.Metadata.Extra[AutoSBOMKey] == "true" {
		if _, err := s.GenerateSBOM(ctx, a, TriggerPush); err != nil {
			s.log.WarnContext(ctx, "SBOM on push", "artifact", a.Repository+"@"+a.Digest.String(), "err", err)
		}
	}
}
