package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/opencontainers/go-digest"
)

// parseReference checks a manifest reference: a digest or a tag.
func parseReference(ref string) (tag string, dgst digest.Digest, err error) {
	if d, derr := ParseDigest(ref); derr == nil {
		return "", d, nil
	} else if len(ref) > 0 && containsColon(ref) {
		return "", "", newError(http.StatusBadRequest, CodeDigestInvalid, fmt.Sprintf("invalid digest %q: %v", truncate(ref), derr))
	}
	if !ValidTag(ref) {
		return "", "", newError(http.StatusBadRequest, CodeManifestInvalid, fmt.Sprintf("invalid tag %q", truncate(ref)))
	}
	return ref, "", nil
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

func manifestUnknown(repo, ref string) error {
	return newError(http.StatusNotFound, CodeManifestUnknown, fmt.Sprintf("manifest %s not found in %s", truncate(ref), repo))
}

func (rg *Registry) getManifest(w http.ResponseWriter, r *http.Request, rt route) error {
	if _, _, err := parseReference(rt.ref); err != nil {
		return err
	}
	head := r.Method == http.MethodHead
	warning, upErr := rg.refreshManifest(r, rt.name, rt.ref)
	mr, err := rg.meta.manifest(r.Context(), rt.name, rt.ref, !head)
	if errors.Is(err, errNotFound) {
		if upErr != nil {
			return upErr
		}
		return manifestUnknown(rt.name, rt.ref)
	}
	if err != nil {
		return err
	}
	t := Target{Repository: rt.name, Reference: rt.ref, Digest: mr.Digest, MediaType: mr.MediaType,
		ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject, Manifest: mr.Content}
	if !head {
		if err := rg.checkPull(r, t); err != nil {
			return err
		}
	}
	setWarning(w, warning)
	h := w.Header()
	h.Set("Content-Type", mr.MediaType)
	h.Set("Content-Length", strconv.FormatInt(mr.Size, 10))
	h.Set("Docker-Content-Digest", mr.Digest.String())
	h.Set("Etag", `"`+mr.Digest.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if head {
		return nil
	}
	_, _ = w.Write(mr.Content)
	if !isInternal(r.Context()) { // a scanner's or a replication's read is not a pull
		rg.pulls.record(rt.name, mr.Digest.String(), tagOf(rt.ref), rg.now())
	}
	rg.emit(r, Event{Action: EventPull, Target: TargetManifest, Repository: rt.name, Digest: mr.Digest,
		MediaType: mr.MediaType, ArtifactType: mr.ArtifactType, Size: mr.Size, Tag: tagOf(rt.ref)})
	return nil
}

func tagOf(ref string) string {
	if containsColon(ref) {
		return ""
	}
	return ref
}

func (rg *Registry) putManifest(w http.ResponseWriter, r *http.Request, rt route) error {
	tag, refDigest, err := parseReference(rt.ref)
	if err != nil {
		return err
	}
	tags, err := pushTags(tag, r.URL.Query())
	if err != nil {
		return err
	}
	body, err := rg.readManifestBody(r)
	if err != nil {
		return err
	}
	alg := digest.SHA256
	if refDigest != "" {
		alg = refDigest.Algorithm()
	}
	dgst := alg.FromBytes(body)
	if refDigest != "" && refDigest != dgst {
		return newError(http.StatusBadRequest, CodeDigestInvalid, fmt.Sprintf("manifest digest is %s, not %s", dgst, refDigest))
	}
	pm, err := parseManifest(body, r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	t := Target{Repository: rt.name, Reference: rt.ref, Digest: dgst, MediaType: pm.MediaType,
		ArtifactType: pm.ArtifactType, Size: int64(len(body)), Manifest: body}
	if pm.Subject != nil {
		t.Subject = pm.Subject.Digest
	}
	if err := rg.pushGate.CheckPush(r.Context(), t, tags); err != nil {
		rg.emitRefusal(r, Event{Action: EventPush, Target: TargetManifest, Repository: rt.name, Digest: dgst,
			MediaType: pm.MediaType, ArtifactType: pm.ArtifactType, Size: t.Size, Tag: tagOf(rt.ref)}, err)
		return err
	}
	if err := rg.meta.putManifest(r.Context(), rt.name, dgst, body, pm, tags, rg.sparseAllowed(r.Context()), rg.now()); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", "/v2/"+rt.name+"/manifests/"+dgst.String())
	h.Set("Docker-Content-Digest", dgst.String())
	if pm.Subject != nil {
		h.Set("OCI-Subject", pm.Subject.Digest.String())
	}
	for _, tg := range tags {
		h.Add("OCI-Tag", tg)
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	e := Event{Action: EventPush, Target: TargetManifest, Repository: rt.name, Digest: dgst,
		MediaType: pm.MediaType, ArtifactType: pm.ArtifactType, Size: int64(len(body)), Subject: t.Subject}
	if len(tags) == 0 {
		rg.emit(r, e)
	}
	for _, tg := range tags {
		e.Tag = tg
		rg.emit(r, e)
	}
	return nil
}

// pushTags is the tag in the path, or the ?tag= parameters of a push by digest.
func pushTags(pathTag string, q url.Values) ([]string, error) {
	if pathTag != "" {
		return []string{pathTag}, nil
	}
	tags := q["tag"]
	if len(tags) > 100 {
		return nil, newError(http.StatusBadRequest, CodeManifestInvalid, "at most 100 tag parameters")
	}
	for _, tg := range tags {
		if !ValidTag(tg) {
			return nil, newError(http.StatusBadRequest, CodeManifestInvalid, fmt.Sprintf("invalid tag %q", truncate(tg)))
		}
	}
	return tags, nil
}

// readManifestBody reads at most the manifest limit; a larger body is 413.
func (rg *Registry) readManifestBody(r *http.Request) ([]byte, error) {
	tooBig := newError(http.StatusRequestEntityTooLarge, CodeManifestInvalid,
		fmt.Sprintf("manifest exceeds the %d byte limit", rg.maxManifestSize))
	if r.ContentLength > rg.maxManifestSize {
		return nil, tooBig
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rg.maxManifestSize+1))
	if err != nil {
		return nil, newError(http.StatusBadRequest, CodeManifestInvalid, "reading manifest body: "+err.Error())
	}
	if int64(len(body)) > rg.maxManifestSize {
		return nil, tooBig
	}
	if len(body) == 0 {
		return nil, newError(http.StatusBadRequest, CodeManifestInvalid, "empty manifest body")
	}
	return body, nil
}

func (rg *Registry) deleteManifest(w http.ResponseWriter, r *http.Request, rt route) error {
	tag, dgst, err := parseReference(rt.ref)
	if err != nil {
		return err
	}
	if err := rg.checkDelete(r.Context(), rt.name, tag, dgst); err != nil {
		rg.emitRefusal(r, Event{Action: EventDelete, Target: targetOf(rt), Repository: rt.name, Tag: tag, Digest: dgst}, err)
		return err
	}
	if tag != "" {
		d, err := rg.meta.deleteTag(r.Context(), rt.name, tag)
		if errors.Is(err, errNotFound) {
			return manifestUnknown(rt.name, tag)
		}
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		rg.emit(r, Event{Action: EventDelete, Target: TargetTag, Repository: rt.name, Tag: tag, Digest: d})
		return nil
	}
	mr, err := rg.meta.deleteManifest(r.Context(), rt.name, dgst)
	if errors.Is(err, errNotFound) {
		return manifestUnknown(rt.name, dgst.String())
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	rg.emit(r, Event{Action: EventDelete, Target: TargetManifest, Repository: rt.name, Digest: dgst,
		MediaType: mr.MediaType, ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject})
	return nil
}

// checkDelete asks the delete gate about deleting tag, or the manifest
// dgst with its tags, from repo. What does not exist passes: the deletion
// answers it.
func (rg *Registry) checkDelete(ctx context.Context, repo, tag string, dgst digest.Digest) error {
	if _, ok := rg.deleteGate.(allowAll); ok {
		return nil
	}
	var tags []string
	if tag != "" {
		mr, err := rg.meta.queryManifest(ctx, repo, tag, false)
		if errors.Is(err, errNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		dgst, tags = mr.Digest, []string{tag}
	} else {
		var err error
		if tags, err = rg.meta.page(ctx, `SELECT name FROM registry_tags WHERE repo = ? AND digest = ? ORDER BY name`,
			repo, dgst.String()); err != nil {
			return err
		}
	}
	return rg.deleteGate.CheckDelete(ctx, repo, dgst, tags)
}
