package trust

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types and annotations of the signature formats.
const (
	// cosign
	MediaTypeSimpleSigning   = "application/vnd.dev.cosign.simplesigning.v1+json"
	ArtifactTypeCosignSig    = "application/vnd.dev.cosign.artifact.sig.v1+json"
	AnnotationCosignSig      = "dev.cosignproject.cosign/signature"
	MediaTypeSigstoreBundle3 = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// cosign v3 marks bundles with their predicate type
	annotationBundlePredicate = "dev.sigstore.bundle.predicateType"
	// Notation
	ArtifactTypeNotation = "application/vnd.cncf.notary.signature"
	MediaTypeJWS         = "application/jose+json"
	MediaTypeCOSE        = "application/cose"
)

// Bounds on discovery: a signature-heavy artifact costs a bounded amount.
const (
	MaxSignatures   = 32      // signatures read per artifact
	maxSigManifest  = 1 << 20 // a signature manifest
	maxPayload      = 256 << 10
	maxEnvelope     = 1 << 20
	maxSigLayers    = 16
	maxSigB64Length = 64 << 10
)

// Found is a signature as discovered, not yet verified.
type Found struct {
	Format   Format
	Form     string        // tag, referrer, bundle, jws, cose
	Manifest digest.Digest // the manifest carrying it
	// Payload and Sig: a cosign simple-signing payload and its signature.
	Payload, Sig []byte
	// Bundle: a sigstore bundle (JSON).
	Bundle []byte
	// Envelope: a Notation envelope of media type EnvelopeType.
	Envelope     []byte
	EnvelopeType string
	// Problem is set when the signature could not be read; it is refused
	// with this reason.
	Problem string
}

// CosignTag is the tag cosign stores an artifact's signatures under.
func CosignTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig"
}

// Discover finds the signatures of repo@d: cosign's tag, cosign's OCI
// 1.1 referrers, sigstore bundles and Notation signatures. Unreadable
// signatures are returned with a Problem; an error means the registry
// could not be asked.
func Discover(ctx context.Context, src Source, repo string, d digest.Digest) ([]Found, error) {
	var out []Found
	_, b, err := src.Manifest(ctx, repo, CosignTag(d), maxSigManifest)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		if ctx.Err() != nil {
			return nil, err
		}
		out = append(out, Found{Format: FormatCosign, Form: "tag", Problem: "unreadable signature manifest: " + err.Error()})
	default:
		out = append(out, cosignManifest(ctx, src, repo, digest.FromBytes(b), b, "tag")...)
	}
	var refs []ocispec.Descriptor
	for _, at := range []string{ArtifactTypeCosignSig, MediaTypeSigstoreBundle3, ArtifactTypeNotation} {
		some, err := src.Referrers(ctx, repo, d, at, MaxSignatures)
		if err != nil {
			return nil, fmt.Errorf("trust: referrers of %s@%s: %w", repo, d, err)
		}
		refs = append(refs, some...)
	}
	seen := map[digest.Digest]bool{}
	for _, desc := range refs {
		if seen[desc.Digest] {
			continue
		}
		seen[desc.Digest] = true
		if len(out) >= MaxSignatures {
			break
		}
		if !isSignatureType(desc.ArtifactType) {
			continue
		}
		if desc.ArtifactType == MediaTypeSigstoreBundle3 && desc.Annotations[annotationBundlePredicate] != "" &&
			desc.Annotations[annotationBundlePredicate] != predicateCosignSign {
			continue // an attestation, not a signature
		}
		_, b, err := src.Manifest(ctx, repo, desc.Digest.String(), maxSigManifest)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			out = append(out, Found{Format: formatOf(desc.ArtifactType), Form: "referrer", Manifest: desc.Digest,
				Problem: "unreadable signature manifest: " + err.Error()})
			continue
		}
		switch desc.ArtifactType {
		case ArtifactTypeCosignSig:
			out = append(out, cosignManifest(ctx, src, repo, desc.Digest, b, "referrer")...)
		case MediaTypeSigstoreBundle3:
			out = append(out, bundleManifest(ctx, src, repo, desc.Digest, b))
		case ArtifactTypeNotation:
			out = append(out, notationManifest(ctx, src, repo, desc.Digest, b))
		}
	}
	if len(out) > MaxSignatures {
		out = out[:MaxSignatures]
	}
	return out, ctx.Err()
}

func isSignatureType(t string) bool {
	return t == ArtifactTypeCosignSig || t == MediaTypeSigstoreBundle3 || t == ArtifactTypeNotation
}

func formatOf(artifactType string) Format {
	if artifactType == ArtifactTypeNotation {
		return FormatNotation
	}
	return FormatCosign
}

// IsAccessory reports whether a manifest passes the gate as a signature
// or another attachment (an attestation, an SBOM), whatever the policy,
// so clients can fetch and verify them: it carries no container
// filesystem layer, so it cannot be run, and it has a subject, or is named
// by one of cosign's accessory tags (sha256-<hex>.sig, .att, .sbom), or
// all its layers are signatures (a cosign signature manifest pulled by
// digest). A runnable image with a subject is not an accessory: it needs
// a signature like any other.
func IsAccessory(subject digest.Digest, ref string, manifest []byte) bool {
	var m struct {
		Layers []ocispec.Descriptor `json:"layers"`
	}
	if json.Unmarshal(manifest, &m) != nil {
		return false
	}
	signatures := len(m.Layers) > 0
	for _, l := range m.Layers {
		if isFilesystemLayer(l.MediaType) {
			return false
		}
		if l.MediaType != MediaTypeSimpleSigning && l.MediaType != mediaTypeDSSE {
			signatures = false
		}
	}
	return subject != "" || accessoryTag(ref) || signatures
}

// mediaTypeDSSE is the layer type of cosign's attestations (.att).
const mediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"

func isFilesystemLayer(mt string) bool {
	return strings.HasPrefix(mt, "application/vnd.oci.image.layer.") ||
		strings.HasPrefix(mt, "application/vnd.docker.image.rootfs.") ||
		strings.HasPrefix(mt, "application/vnd.oci.image.layer.nondistributable.")
}

// accessoryTag reports whether ref is one of cosign's accessory tags.
func accessoryTag(ref string) bool {
	_, ok := signedByTag(ref)
	return ok
}

// cosignManifest reads the simple-signing layers of a cosign signature
// manifest.
func cosignManifest(ctx context.Context, src Source, repo string, md digest.Digest, b []byte, form string) []Found {
	bad := func(msg string) []Found {
		return []Found{{Format: FormatCosign, Form: form, Manifest: md, Problem: msg}}
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return bad("signature manifest is not valid JSON: " + err.Error())
	}
	var out []Found
	for _, l := range m.Layers {
		if l.MediaType != MediaTypeSimpleSigning {
			continue
		}
		if len(out) >= maxSigLayers {
			break
		}
		f := Found{Format: FormatCosign, Form: form, Manifest: md}
		sig64 := l.Annotations[AnnotationCosignSig]
		sig, err := base64.StdEncoding.DecodeString(sig64)
		switch {
		case sig64 == "":
			f.Problem = "the layer has no " + AnnotationCosignSig + " annotation"
		case len(sig64) > maxSigB64Length:
			f.Problem = "the signature annotation is too large"
		case err != nil:
			f.Problem = "the signature annotation is not valid base64"
		case l.Size > maxPayload:
			f.Problem = fmt.Sprintf("the payload of %d bytes is larger than the limit of %d", l.Size, maxPayload)
		default:
			f.Sig = sig
			f.Payload, err = readBlob(ctx, src, repo, l, maxPayload)
			if err != nil {
				f.Problem = "unreadable payload: " + err.Error()
			}
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return bad("the signature manifest has no simple-signing layer")
	}
	return out
}

// singleLayer returns the one layer of a bundle or Notation manifest.
func singleLayer(b []byte) (ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("signature manifest is not valid JSON: %v", err)
	}
	if len(m.Layers) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("signature manifest has %d layers, want 1", len(m.Layers))
	}
	return m.Layers[0], nil
}

func bundleManifest(ctx context.Context, src Source, repo string, md digest.Digest, b []byte) Found {
	f := Found{Format: FormatCosign, Form: "bundle", Manifest: md}
	l, err := singleLayer(b)
	if err != nil {
		f.Problem = err.Error()
		return f
	}
	if l.Size > maxEnvelope {
		f.Problem = fmt.Sprintf("the bundle of %d bytes is larger than the limit of %d", l.Size, maxEnvelope)
		return f
	}
	if f.Bundle, err = readBlob(ctx, src, repo, l, maxEnvelope); err != nil {
		f.Problem = "unreadable bundle: " + err.Error()
	}
	return f
}

func notationManifest(ctx context.Context, src Source, repo string, md digest.Digest, b []byte) Found {
	f := Found{Format: FormatNotation, Form: "referrer", Manifest: md}
	l, err := singleLayer(b)
	if err != nil {
		f.Problem = err.Error()
		return f
	}
	switch l.MediaType {
	case MediaTypeJWS:
		f.Form = "jws"
	case MediaTypeCOSE:
		f.Form = "cose"
	default:
		f.Problem = fmt.Sprintf("envelope media type %q: want %s or %s", l.MediaType, MediaTypeJWS, MediaTypeCOSE)
		return f
	}
	if l.Size > maxEnvelope {
		f.Problem = fmt.Sprintf("the envelope of %d bytes is larger than the limit of %d", l.Size, maxEnvelope)
		return f
	}
	f.EnvelopeType = l.MediaType
	if f.Envelope, err = readBlob(ctx, src, repo, l, maxEnvelope); err != nil {
		f.Problem = "unreadable envelope: " + err.Error()
	}
	return f
}

// readBlob reads a layer and checks its bytes against its descriptor,
// whatever the Source checked.
func readBlob(ctx context.Context, src Source, repo string, l ocispec.Descriptor, limit int64) ([]byte, error) {
	if err := l.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("layer digest %q: %v", l.Digest, err)
	}
	b, err := src.Blob(ctx, repo, l.Digest, limit)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("blob %s is larger than the limit of %d bytes", l.Digest, limit)
	}
	if l.Digest.Algorithm().FromBytes(b) != l.Digest {
		return nil, fmt.Errorf("blob %s: content does not match its digest", l.Digest)
	}
	return b, nil
}
