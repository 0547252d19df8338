package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// The methods in this file tag and copy stored artifacts for management
// layers. Both go through the PushGate, as a push of the same manifest
// would (immutability rules, content trust, vulnerability gates...), and
// count against quotas; the caller checks the caller's access.

// maxCopyDepth bounds the nesting of indexes a copy follows.
const maxCopyDepth = 4

// TagArtifact points a new tag of repo at the manifest d there. A tag that
// exists already is a conflict (core.ErrExists): move a tag by pushing.
func (rg *Registry) TagArtifact(ctx context.Context, repo string, d digest.Digest, tag string) error {
	if !ValidTag(tag) {
		return core.New(core.ErrInvalid, fmt.Sprintf("invalid tag %q: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", truncate(tag)))
	}
	if _, err := rg.meta.queryManifest(ctx, repo, tag, false); err == nil {
		return fmt.Errorf("tag %s:%s: %w", repo, tag, core.ErrExists)
	} else if !errors.Is(err, errNotFound) {
		return err
	}
	mr, err := rg.meta.queryManifest(ctx, repo, d.String(), true)
	if errors.Is(err, errNotFound) {
		return notFound("artifact", repo+"@"+d.String())
	}
	if err != nil {
		return err
	}
	pm, err := parseManifest(mr.Content, mr.MediaType)
	if err != nil {
		return err
	}
	if err := rg.checkCopy(ctx, repo, mr, []string{tag}); err != nil {
		return err
	}
	return rg.storeCopy(ctx, repo, mr, pm, []string{tag})
}

// CopyArtifact copies the manifest ref (a tag or a digest) of from into
// to, with everything it references: an index's manifests and every blob,
// linked into to. A tag ref tags the copy alike. It returns the copy's
// digest.
func (rg *Registry) CopyArtifact(ctx context.Context, from, ref, to string) (digest.Digest, error) {
	if !ValidName(to) {
		return "", core.New(core.ErrInvalid, fmt.Sprintf("invalid repository name %q", truncate(to)))
	}
	mr, err := rg.meta.queryManifest(ctx, from, ref, true)
	if errors.Is(err, errNotFound) {
		return "", notFound("artifact", from+":"+ref)
	}
	if err != nil {
		return "", err
	}
	var tags []string
	if !strings.Contains(ref, ":") {
		tags = []string{ref}
	}
	return mr.Digest, rg.copyManifest(ctx, from, to, mr, tags, 0)
}

func (rg *Registry) copyManifest(ctx context.Context, from, to string, mr *manifestRow, tags []string, depth int) error {
	if depth > maxCopyDepth {
		return core.New(core.ErrInvalid, fmt.Sprintf("%s@%s: indexes nested deeper than %d", from, mr.Digest, maxCopyDepth))
	}
	pm, err := parseManifest(mr.Content, mr.MediaType)
	if err != nil {
		return err
	}
	// A copy reads the source as a pull does: the pull gates (vulnerable,
	// unsigned, ...) decide first, so a copy cannot take out of a project
	// what a pull may not.
	if !isInternal(ctx) {
		ref := mr.Digest.String()
		if depth == 0 && len(tags) == 1 {
			ref = tags[0]
		}
		if err := rg.pullGate.CheckPull(ctx, Target{Repository: from, Reference: ref, Digest: mr.Digest, MediaType: mr.MediaType,
			ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject, Manifest: mr.Content}); err != nil {
			return err
		}
	}
	// Then the push gate: a refused copy links nothing into to.
	if err := rg.checkCopy(ctx, to, mr, tags); err != nil {
		return err
	}
	for _, c := range pm.Children {
		cm, err := rg.meta.queryManifest(ctx, from, c.Digest.String(), true)
		if errors.Is(err, errNotFound) && rg.sparseAllowed(ctx) {
			continue
		}
		if errors.Is(err, errNotFound) {
			return notFound("manifest", from+"@"+c.Digest.String())
		}
		if err != nil {
			return err
		}
		if err := rg.copyManifest(ctx, from, to, cm, nil, depth+1); err != nil {
			return err
		}
	}
	for _, b := range pm.Blobs {
		if err := rg.copyBlob(ctx, from, to, b.Digest); err != nil {
			return err
		}
	}
	return rg.storeCopy(ctx, to, mr, pm, tags)
}

// copyBlob links the blob d of from into to, as a mount does.
func (rg *Registry) copyBlob(ctx context.Context, from, to string, d digest.Digest) error {
	size, err := rg.meta.blobSize(ctx, from, d)
	if errors.Is(err, errNotFound) {
		return notFound("blob", from+"@"+d.String())
	}
	if err != nil {
		return err
	}
	unlock := rg.LockBlob(d)
	defer unlock()
	if _, err := rg.blobs.Stat(ctx, d); err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	if err := rg.meta.linkBlob(ctx, to, d, size, rg.now()); err != nil {
		return err
	}
	rg.events.Emit(ctx, Event{Action: EventMount, Target: TargetBlob, Repository: to, Digest: d, Size: size, From: from,
		Actor: ActorFrom(ctx), Time: rg.now()})
	return nil
}

// checkCopy asks the PushGate about storing mr in repo with tags, and
// reports a refusal to the refusal sink.
func (rg *Registry) checkCopy(ctx context.Context, repo string, mr *manifestRow, tags []string) error {
	ref := mr.Digest.String()
	if len(tags) > 0 {
		ref = tags[0]
	}
	t := Target{Repository: repo, Reference: ref, Digest: mr.Digest, MediaType: mr.MediaType,
		ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject, Manifest: mr.Content}
	err := rg.pushGate.CheckPush(ctx, t, tags)
	if err == nil {
		return nil
	}
	e := Event{Action: EventPush, Target: TargetManifest, Repository: repo, Digest: mr.Digest,
		MediaType: mr.MediaType, ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject,
		Actor: ActorFrom(ctx), Status: http.StatusInternalServerError, Refused: err.Error(), Time: rg.now()}
	var re *Error
	if errors.As(err, &re) {
		e.Status, e.Refused = re.Status, re.Message
	}
	if len(tags) > 0 {
		e.Tag = tags[0]
	}
	rg.refusals.Emit(ctx, e)
	return err
}

// storeCopy stores the manifest mr (parsed: pm) in repo with tags, once
// checkCopy allowed it, and emits the push events.
func (rg *Registry) storeCopy(ctx context.Context, repo string, mr *manifestRow, pm *parsedManifest, tags []string) error {
	if err := rg.meta.putManifest(ctx, repo, mr.Digest, mr.Content, pm, tags, rg.sparseAllowed(ctx), rg.now()); err != nil {
		return err
	}
	e := Event{Action: EventPush, Target: TargetManifest, Repository: repo, Digest: mr.Digest,
		MediaType: mr.MediaType, ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject,
		Actor: ActorFrom(ctx), Time: rg.now()}
	if len(tags) == 0 {
		rg.events.Emit(ctx, e)
	}
	for _, tg := range tags {
		e.Tag = tg
		rg.events.Emit(ctx, e)
	}
	return nil
}
