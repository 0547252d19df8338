package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/registry"
)

// verdict is what was decided for one image.
type verdict struct {
	Digest digest.Digest // the digest judged, "" when none was found
	Pinned string        // repo:tag@digest for an allowed image of this registry named by tag
	Reason string        // why it is refused; "" when it is allowed
}

// maxChildren bounds the platform manifests of one index that are judged.
const maxChildren = 64

// judge decides one image reference.
func (rv *Reviewer) judge(ctx context.Context, image string) verdict {
	ref, err := name.ParseReference(image)
	if err != nil {
		return verdict{Reason: fmt.Sprintf("not a valid image reference: %v", err)}
	}
	repo := ref.Context()
	if !rv.hosts[strings.ToLower(repo.RegistryStr())] {
		host := repo.RegistryStr()
		if host == name.DefaultRegistry {
			host = "docker.io" // as people write Docker Hub's images
		}
		return verdict{Reason: rv.rules.decide(host + "/" + repo.RepositoryStr())}
	}
	v := verdict{}
	tag, byTag := ref.(name.Tag)
	if byTag {
		d, err := rv.digests.get(ctx, repo.RepositoryStr()+":"+tag.TagStr(), func(ctx context.Context) (string, error) {
			t, err := rv.resolver.Resolve(ctx, repo.RepositoryStr(), tag.TagStr())
			return t.Digest.String(), err
		})
		if err != nil {
			return verdict{Reason: rv.failure(ctx, image, err)}
		}
		v.Digest = digest.Digest(d)
	} else {
		v.Digest = digest.Digest(ref.Identifier())
	}
	key := repo.RepositoryStr() + "@" + v.Digest.String()
	v.Reason, err = rv.decisions.get(ctx, key, func(ctx context.Context) (string, error) {
		return rv.check(ctx, repo.RepositoryStr(), v.Digest)
	})
	if err != nil {
		v.Reason = rv.failure(ctx, image, err)
	}
	if v.Reason == "" && byTag {
		v.Pinned = repo.Name() + ":" + tag.TagStr() + "@" + v.Digest.String()
	}
	return v
}

// failure is the reason for an image that could not be judged: unknown,
// or the registry failing to answer (refused: the webhook fails closed).
func (rv *Reviewer) failure(ctx context.Context, image string, err error) string {
	if errors.Is(err, core.ErrNotFound) {
		return "not found in this registry: " + err.Error()
	}
	var se *registry.Error
	if errors.As(err, &se) && se.Status < 500 {
		return se.Message
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "no decision in time: " + err.Error()
	}
	rv.log.WarnContext(ctx, "admission: could not judge an image", "image", image, "err", err)
	return "the registry could not decide: " + err.Error()
}

// check asks the pull gate about repo@d as a node's pull would: the
// decision is the digest's (the reference the gate sees is the digest,
// what a pinned image pulls, so that one decision serves every tag): the
// manifest and, for an index, each platform manifest right after it (as
// a node pulls them, so that a gate allowing an index's children with it
// decides the same).
func (rv *Reviewer) check(ctx context.Context, repo string, d digest.Digest) (string, error) {
	ctx = registry.WithActor(ctx, Actor)
	t, err := rv.resolver.Resolve(ctx, repo, d.String())
	if err != nil {
		return "", err
	}
	if reason, err := rv.ask(ctx, t); reason != "" || err != nil {
		return reason, err
	}
	for _, child := range children(t) {
		ct, err := rv.resolver.Resolve(ctx, repo, child.Digest.String())
		if errors.Is(err, core.ErrNotFound) {
			continue // not held (a sparse mirror): no pull of it can succeed, nothing to judge
		}
		if err != nil {
			return "", err
		}
		reason, err := rv.ask(ctx, ct)
		if reason != "" || err != nil {
			return fmt.Sprintf("platform %s (%s): %s", platformOf(child), child.Digest, reason), err
		}
	}
	return "", nil
}

// ask asks the gate; a refusal's readable message is the reason, any
// other failure an error.
func (rv *Reviewer) ask(ctx context.Context, t registry.Target) (string, error) {
	err := rv.gate.CheckPull(ctx, t)
	if err == nil {
		return "", nil
	}
	var se *registry.Error
	if errors.As(err, &se) && se.Status < 500 {
		return se.Message, nil
	}
	return "", err
}

// children lists the platform manifests of an index; nothing for other
// manifests. Attestation manifests (platform unknown/unknown) are no
// platform a node pulls.
func children(t registry.Target) []ocispec.Descriptor {
	switch t.MediaType {
	case ocispec.MediaTypeImageIndex, "application/vnd.docker.distribution.manifest.list.v2+json":
	default:
		return nil
	}
	var idx ocispec.Index
	if json.Unmarshal(t.Manifest, &idx) != nil {
		return nil
	}
	var out []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if m.Platform != nil && m.Platform.OS == "unknown" || m.Digest.Validate() != nil {
			continue
		}
		if out = append(out, m); len(out) == maxChildren {
			break
		}
	}
	return out
}

func platformOf(d ocispec.Descriptor) string {
	if d.Platform == nil {
		return "(unnamed)"
	}
	s := d.Platform.OS + "/" + d.Platform.Architecture
	if d.Platform.Variant != "" {
		s += "/" + d.Platform.Variant
	}
	return s
}
