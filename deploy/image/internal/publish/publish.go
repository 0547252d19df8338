// Package publish ships a built image index the way berth asks its users
// to ship theirs: pushed under a tag, signed in cosign's format by berth's
// own trust package, with an SBOM attached as an OCI 1.1 referrer.
//
//	res, err := publish.Push(ctx, idx, "registry.example.com/library/berth:0.1.0",
//		publish.WithAuth(&authn.Basic{Username: u, Password: p}),
//		publish.WithSigner(key),
//		publish.WithSBOM(doc, sbom.MediaType))
//
// `cosign verify --key` accepts the signatures, and berth's trust gate
// lets the image through a project whose policy requires them.
package publish

import (
	"context"
	"crypto"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/trust"
)

// Option tunes Push.
type Option func(*config)

type config struct {
	auth      authn.Authenticator
	plainHTTP bool
	transport http.RoundTripper
	signer    crypto.Signer
	sbom      []byte
	sbomType  string
	platform  map[string]document // architecture → SBOM of that image
}

// document is an attachment's bytes and media type.
type document struct {
	body      []byte
	mediaType string
}

// WithAuth authenticates to the registry (default anonymous).
func WithAuth(a authn.Authenticator) Option { return func(c *config) { c.auth = a } }

// WithPlainHTTP talks HTTP, not HTTPS, to the registry (local registries).
func WithPlainHTTP() Option { return func(c *config) { c.plainHTTP = true } }

// WithTransport sends the requests (default http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option { return func(c *config) { c.transport = rt } }

// WithSigner signs the index and each of its manifests with key, as
// `cosign sign --key` does.
func WithSigner(key crypto.Signer) Option { return func(c *config) { c.signer = key } }

// WithSBOM attaches doc (of mediaType, also the referrer's artifactType)
// to the index.
func WithSBOM(doc []byte, mediaType string) Option {
	return func(c *config) { c.sbom, c.sbomType = doc, mediaType }
}

// WithPlatformSBOM attaches doc (of mediaType) to the index's manifest
// for the linux architecture arch: each image carries the SBOM of its
// own binary.
func WithPlatformSBOM(arch string, doc []byte, mediaType string) Option {
	return func(c *config) {
		if c.platform == nil {
			c.platform = map[string]document{}
		}
		c.platform[arch] = document{doc, mediaType}
	}
}

// Result is what Push stored.
type Result struct {
	Index      v1.Descriptor
	Signatures []digest.Digest // cosign signature manifests
	SBOM       digest.Digest   // the index's SBOM referrer, if any
	// PlatformSBOMs are the platform manifests' SBOM referrers.
	PlatformSBOMs []digest.Digest
}

// Push stores idx under ref (repository:tag), then its signatures and
// SBOM.
func Push(ctx context.Context, idx v1.ImageIndex, ref string, opts ...Option) (Result, error) {
	c := config{auth: authn.Anonymous, transport: http.DefaultTransport}
	for _, o := range opts {
		o(&c)
	}
	var nameOpts []name.Option
	if c.plainHTTP {
		nameOpts = append(nameOpts, name.Insecure)
	}
	tag, err := name.NewTag(ref, append(nameOpts, name.StrictValidation)...)
	if err != nil {
		return Result{}, fmt.Errorf("publish: %q: want registry/repository:tag: %w", ref, err)
	}
	if err := remote.WriteIndex(tag, idx, remote.WithContext(ctx), remote.WithAuth(c.auth), remote.WithTransport(c.transport)); err != nil {
		return Result{}, fmt.Errorf("publish: pushing %s: %w", tag, err)
	}
	var res Result
	if res.Index, err = describe(idx); err != nil {
		return Result{}, err
	}
	if c.signer == nil && c.sbom == nil && c.platform == nil {
		return res, nil
	}
	repo := tag.Context()
	rt, err := transport.NewWithContext(ctx, repo.Registry, c.auth, c.transport, []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return Result{}, fmt.Errorf("publish: authenticating to %s: %w", repo.Registry, err)
	}
	client := trust.Registry(rt, repo.Registry.Scheme()+"://"+repo.RegistryStr())
	if c.signer != nil {
		if res.Signatures, err = sign(ctx, client, repo, idx, res.Index, c.signer); err != nil {
			return Result{}, err
		}
	}
	if c.sbom != nil {
		if res.SBOM, err = attach(ctx, client, repo.RepositoryStr(), res.Index, c.sbom, c.sbomType); err != nil {
			return Result{}, err
		}
	}
	if len(c.platform) > 0 {
		if res.PlatformSBOMs, err = attachPlatforms(ctx, client, repo.RepositoryStr(), idx, c.platform); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// sign signs the index and each manifest in it: a client that resolves a
// platform's manifest by digest, without the index, finds it signed too.
func sign(ctx context.Context, client *trust.Client, repo name.Repository, idx v1.ImageIndex, d v1.Descriptor, key crypto.Signer) ([]digest.Digest, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	subjects := append([]v1.Descriptor{d}, im.Manifests...)
	sigs := make([]digest.Digest, 0, len(subjects))
	for _, s := range subjects {
		sd, err := trust.SignCosign(ctx, client, trust.Subject{Repository: repo.RepositoryStr(),
			Digest: digest.Digest(s.Digest.String()), MediaType: string(s.MediaType), Size: s.Size},
			key, trust.CosignOptions{Identity: repo.Name()})
		if err != nil {
			return nil, fmt.Errorf("publish: signing %s@%s: %w", repo, s.Digest, err)
		}
		sigs = append(sigs, sd)
	}
	return sigs, nil
}

func describe(idx v1.ImageIndex) (v1.Descriptor, error) {
	d, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("publish: %w", err)
	}
	size, err := idx.Size()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("publish: %w", err)
	}
	mt, err := idx.MediaType()
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("publish: %w", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, nil
}
