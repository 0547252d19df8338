package trust

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/notaryproject/notation-go"
	notationreg "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// CosignOptions tune SignCosign.
type CosignOptions struct {
	// Identity is the payload's docker-reference, the image's name as
	// clients pull it ("registry.example.com/library/app"); default the
	// repository.
	Identity string
	// Referrer stores the signature as an OCI 1.1 referrer (cosign's
	// --registry-referrers-mode=oci-1-1) instead of under cosign's
	// sha256-<hex>.sig tag.
	Referrer bool
}

// CosignPayload is the simple-signing payload cosign signs for d.
func CosignPayload(identity string, d digest.Digest) []byte {
	var p SimpleSigning
	p.Critical.Identity.DockerReference = identity
	p.Critical.Image.DockerManifestDigest = d.String()
	p.Critical.Type = CosignSignatureType
	b, _ := json.Marshal(p)
	return b
}

// SignCosignPayload signs a payload as cosign does with a key: ECDSA and
// RSA (PKCS#1 v1.5) over its SHA-256, Ed25519 over the payload itself.
func SignCosignPayload(key crypto.Signer, payload []byte) ([]byte, error) {
	s, err := signature.LoadSigner(key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("trust: signing key: %w", err)
	}
	return s.SignMessage(strings.NewReader(string(payload)))
}

// SignCosign signs subj with key as `cosign sign --key` does and stores
// the signature in the registry c speaks to: under cosign's tag (next to
// the signatures already there) or as a referrer. It returns the digest of
// the signature manifest. `cosign verify --key` accepts the result.
func SignCosign(ctx context.Context, c *Client, subj Subject, key crypto.Signer, opts CosignOptions) (digest.Digest, error) {
	if err := subj.Digest.Validate(); err != nil {
		return "", fmt.Errorf("trust: %w", err)
	}
	identity := opts.Identity
	if identity == "" {
		identity = subj.Repository
	}
	payload := CosignPayload(identity, subj.Digest)
	sig, err := SignCosignPayload(key, payload)
	if err != nil {
		return "", err
	}
	pd, err := c.PushBlob(ctx, subj.Repository, payload)
	if err != nil {
		return "", fmt.Errorf("trust: %w", err)
	}
	layer := ocispec.Descriptor{MediaType: MediaTypeSimpleSigning, Digest: pd, Size: int64(len(payload)),
		Annotations: map[string]string{AnnotationCosignSig: base64.StdEncoding.EncodeToString(sig)}}
	if opts.Referrer {
		return c.pushArtifact(ctx, subj, ArtifactTypeCosignSig, []ocispec.Descriptor{layer})
	}
	tag := CosignTag(subj.Digest)
	layers := []ocispec.Descriptor{}
	if _, b, err := c.Manifest(ctx, subj.Repository, tag, maxSigManifest); err == nil {
		var m ocispec.Manifest
		if json.Unmarshal(b, &m) == nil {
			for _, l := range m.Layers {
				if l.MediaType == MediaTypeSimpleSigning && l.Digest != pd && len(layers) < maxSigLayers-1 {
					layers = append(layers, l)
				}
			}
		}
	} else if !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("trust: reading %s:%s: %w", subj.Repository, tag, err)
	}
	layers = append(layers, layer)
	diffIDs := make([]string, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.Digest.String()
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "", "os": "", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	cd, err := c.PushBlob(ctx, subj.Repository, cfg)
	if err != nil {
		return "", fmt.Errorf("trust: %w", err)
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))}, Layers: layers}
	m.SchemaVersion = 2
	b, _ := json.Marshal(m)
	d, err := c.PushManifest(ctx, subj.Repository, tag, ocispec.MediaTypeImageManifest, b)
	if err != nil {
		return "", fmt.Errorf("trust: %w", err)
	}
	return d, nil
}

// pushArtifact pushes an OCI 1.1 artifact manifest referring to subj.
func (c *Client) pushArtifact(ctx context.Context, subj Subject, artifactType string, layers []ocispec.Descriptor) (digest.Digest, error) {
	empty := []byte("{}")
	ed, err := c.PushBlob(ctx, subj.Repository, empty)
	if err != nil {
		return "", fmt.Errorf("trust: %w", err)
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType,
		Config:  ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: ed, Size: 2},
		Layers:  layers,
		Subject: &ocispec.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}}
	m.SchemaVersion = 2
	b, _ := json.Marshal(m)
	d := digest.FromBytes(b)
	if _, err := c.PushManifest(ctx, subj.Repository, d.String(), ocispec.MediaTypeImageManifest, b); err != nil {
		return "", fmt.Errorf("trust: %w", err)
	}
	return d, nil
}

// NotationOptions tune SignNotation.
type NotationOptions struct {
	// EnvelopeType is MediaTypeJWS (default) or MediaTypeCOSE.
	EnvelopeType string
	// PlainHTTP talks HTTP, not HTTPS, to the registry.
	PlainHTTP bool
	// Client sends the requests (its Transport may authenticate); default
	// http.DefaultClient.
	Client *http.Client
}

// SignNotation signs host/repo@d with a Notation signature made by key
// and its certificate chain (leaf first, with the code-signing extended
// key usage), through notation-go and oras-go, as `notation sign` does;
// notation-go's verifier (and `notation verify`) accept the result. To
// sign inside a berth registry without the network, give opts.Client the
// registry's Transport.
func SignNotation(ctx context.Context, host, repo string, d digest.Digest, key crypto.PrivateKey, chain []*x509.Certificate, opts NotationOptions) (ocispec.Descriptor, error) {
	s, err := signer.NewGenericSigner(key, chain)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("trust: notation signer: %w", err)
	}
	r, err := remote.NewRepository(host + "/" + repo)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("trust: %w", err)
	}
	r.PlainHTTP = opts.PlainHTTP
	hc := opts.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	r.Client = &auth.Client{Client: hc, Cache: auth.NewCache()}
	mt := opts.EnvelopeType
	if mt == "" {
		mt = MediaTypeJWS
	}
	desc, err := notation.Sign(ctx, s, notationreg.NewRepository(r), notation.SignOptions{
		SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: mt},
		ArtifactReference: d.String(),
	})
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("trust: notation sign %s/%s@%s: %w", host, repo, d, err)
	}
	return desc, nil
}

// HostOf is the host of a URL ("http://127.0.0.1:5000" → "127.0.0.1:5000").
func HostOf(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}
