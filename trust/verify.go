package trust

import (
	"context"
	"fmt"
	"strings"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-go"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Subject is the artifact signatures are verified against. Notation
// signatures sign a descriptor, so MediaType and Size must be the
// manifest's.
type Subject struct {
	Repository string
	Digest     digest.Digest
	MediaType  string
	Size       int64
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Revocation, when set, checks Notation certificate chains for
	// revocation (OCSP, CRL) with this validator; nil skips revocation
	// checks, so verification never reaches the network.
	Revocation revocation.Validator
}

// Verify checks each signature found on subj against the key set: a
// signature is Verified only when it is cryptographically valid, is over
// subj's digest (and, for cosign, is of cosign's signature type), and
// was made by a key or certificate of ks. It never reaches the network
// unless opts.Revocation does.
func Verify(ctx context.Context, subj Subject, found []Found, ks KeySet, opts VerifyOptions) []Signature {
	out := make([]Signature, 0, len(found))
	var nv notation.Verifier
	var nvErr error
	nvBuilt := false
	for _, f := range found {
		if f.Problem != "" {
			out = append(out, Signature{Format: f.Format, Form: f.Form, Manifest: f.Manifest, Reason: f.Problem})
			continue
		}
		switch {
		case f.Format == FormatNotation:
			if !nvBuilt {
				nvBuilt = true
				if len(ks.certificates()) > 0 {
					nv, nvErr = newNotationVerifier(ks, opts.Revocation)
				}
			}
			if nvErr != nil {
				out = append(out, Signature{Format: f.Format, Form: f.Form, Manifest: f.Manifest,
					Reason: "the Notation verifier could not be built: " + nvErr.Error()})
				continue
			}
			desc := ocispec.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}
			out = append(out, verifyNotation(ctx, nv, f, desc, notationRef(subj), ks))
		case f.Bundle != nil:
			out = append(out, verifyBundle(f, subj.Digest, ks))
		default:
			out = append(out, verifyCosign(f, subj.Digest, ks))
		}
	}
	return out
}

// notationRef is the artifact reference notation-go matches trust policy
// scopes against; berth's generated policy has the scope "*".
func notationRef(subj Subject) string {
	repo := strings.ToLower(subj.Repository)
	if repo == "" {
		repo = "artifact"
	}
	return fmt.Sprintf("berth.local/%s@%s", repo, subj.Digest)
}
