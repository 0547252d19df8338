package api

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// Accessory is an artifact attached to another (its subject), as Harbor
// lists them: a signature, an SBOM, an attestation.
type Accessory struct {
	ID                    int64     `json:"id" doc:"the accessory's artifact id"`
	ArtifactID            int64     `json:"artifact_id" doc:"the accessory's artifact id"`
	SubjectArtifactID     int64     `json:"subject_artifact_id"`
	SubjectArtifactDigest string    `json:"subject_artifact_digest"`
	SubjectArtifactRepo   string    `json:"subject_artifact_repo"`
	Size                  int64     `json:"size"`
	Digest                string    `json:"digest"`
	Type                  string    `json:"type" doc:"signature.cosign, signature.notation, harbor.sbom or subject.accessory"`
	Icon                  string    `json:"icon" doc:"the digest of the type's icon: GET /icons/{digest}"`
	CreationTime          time.Time `json:"creation_time"`
}

// Accessory types, as Harbor names them.
const (
	accSignatureCosign   = "signature.cosign"
	accSignatureNotation = "signature.notation"
	accSBOM              = "harbor.sbom"
	accOther             = "subject.accessory"
)

// maxAccessories bounds the accessories listed of one artifact.
const maxAccessories = 1000

// accessoryType names the kind of a referrer from its artifact type.
func accessoryType(artifactType string) string {
	switch artifactType {
	case "application/vnd.dev.cosign.artifact.sig.v1+json", "application/vnd.dev.sigstore.bundle.v0.3+json":
		return accSignatureCosign
	case "application/vnd.cncf.notary.signature":
		return accSignatureNotation
	case "application/vnd.goharbor.harbor.sbom.v1", "application/spdx+json", "application/vnd.cyclonedx+json":
		return accSBOM
	}
	return accOther
}

// cosignTagTypes are the tags cosign's tag scheme attaches to an artifact
// (sha256-<hex>.<suffix>) and the accessory types they are.
var cosignTagTypes = []struct{ suffix, kind string }{{".sig", accSignatureCosign}, {".sbom", accSBOM}, {".att", accOther}}

// listAccessories lists an artifact's accessories: the OCI referrers in
// its repository and the artifacts cosign's tag scheme attached to it,
// newest first (q: type=<accessory type>).
func (a *API) listAccessories(c *call) error {
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), qSets("type"), qSets("digest"))
	if err != nil {
		return err
	}
	_, subj, err := a.artifact(c, permOn(rbac.ResourceAccessory, rbac.ActionList))
	if err != nil {
		return err
	}
	refs, _, err := a.deps.Registry.ListReferrers(c.ctx(), subj.Repository, subj.Digest, core.Page{Limit: maxAccessories})
	if err != nil {
		return err
	}
	all := make([]Accessory, 0, len(refs))
	seen := map[string]bool{}
	add := func(art registry.Artifact, kind string) {
		if seen[art.Digest.String()] {
			return
		}
		seen[art.Digest.String()] = true
		all = append(all, Accessory{ID: art.ID, ArtifactID: art.ID, SubjectArtifactID: subj.ID,
			SubjectArtifactDigest: subj.Digest.String(), SubjectArtifactRepo: subj.Repository, Size: art.TotalSize,
			Digest: art.Digest.String(), Type: kind, Icon: iconOf(kind), CreationTime: art.PushedAt.UTC()})
	}
	for _, r := range refs {
		add(r, accessoryType(r.ArtifactType))
	}
	prefix := strings.Replace(subj.Digest.String(), ":", "-", 1)
	for _, t := range cosignTagTypes {
		art, err := a.deps.Registry.GetArtifact(c.ctx(), subj.Repository, prefix+t.suffix)
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		add(*art, t.kind)
	}
	all = slices.DeleteFunc(all, func(x Accessory) bool {
		return !termMatches(terms, "type", x.Type) || !termMatches(terms, "digest", x.Digest)
	})
	out, total, err := listPage(c, pg, "", accessorySorts(), sliceLister(all))
	if err != nil {
		return err
	}
	return c.paged(pg, total, out)
}

// accessorySorts are the fields accessories sort by.
func accessorySorts() map[string]sortField[Accessory] {
	return map[string]sortField[Accessory]{
		"creation_time": func(x *Accessory) string { return sTime(x.CreationTime) },
		"type":          func(x *Accessory) string { return x.Type },
		"size":          func(x *Accessory) string { return sInt(x.Size) },
		"digest":        func(x *Accessory) string { return x.Digest },
		"id":            func(x *Accessory) string { return sInt(x.ID) },
	}
}

// accessoryListDoc documents the q and sort of listAccessories.
const accessoryListDoc = "q keys: type, digest (=v, =~substring, ={a b} any of); sort: creation_time, type, size, digest, id"
