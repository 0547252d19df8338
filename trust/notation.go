package trust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/result"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// notationStore is the name of the one named trust store the generated
// trust policy uses.
const notationStore = "berth"

// keySetStore serves a KeySet's certificates to notation-go as the CA
// and signing-authority stores named notationStore.
type keySetStore struct{ certs []*x509.Certificate }

func (s keySetStore) GetCertificates(_ context.Context, t truststore.Type, name string) ([]*x509.Certificate, error) {
	if name != notationStore || (t != truststore.TypeCA && t != truststore.TypeSigningAuthority) {
		return nil, fmt.Errorf("no trust store %s:%s", t, name)
	}
	if len(s.certs) == 0 {
		return nil, errors.New("the trust store holds no certificates")
	}
	return s.certs, nil
}

// newNotationVerifier builds notation-go's verifier over a key set's
// certificates: one trust policy for every repository, level strict,
// every identity the store's certificates vouch for (named signers are
// the berth policy's business). Revocation is skipped unless rv is set.
func newNotationVerifier(ks KeySet, rv revocation.Validator) (notation.Verifier, error) {
	var certs []*x509.Certificate
	for _, e := range ks.certificates() {
		certs = append(certs, e.Certificate())
	}
	sv := trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name}
	if rv == nil {
		sv.Override = map[trustpolicy.ValidationType]trustpolicy.ValidationAction{
			trustpolicy.TypeRevocation: trustpolicy.ActionSkip}
	}
	doc := &trustpolicy.Document{Version: "1.0", TrustPolicies: []trustpolicy.TrustPolicy{{
		Name: "berth", RegistryScopes: []string{"*"}, SignatureVerification: sv,
		TrustStores: []string{"ca:" + notationStore}, TrustedIdentities: []string{"*"},
	}}}
	opts := verifier.VerifierOptions{RevocationCodeSigningValidator: rv, RevocationTimestampingValidator: rv}
	if rv == nil {
		// Never used (revocation is skipped and no TSA store is
		// configured), but the constructor would build network clients.
		opts.RevocationCodeSigningValidator, opts.RevocationTimestampingValidator = offlineRevocation{}, offlineRevocation{}
	}
	return verifier.NewWithOptions(doc, keySetStore{certs: certs}, nil, opts)
}

// offlineRevocation answers every revocation question with an error; it
// is only installed when revocation checks are skipped.
type offlineRevocation struct{}

func (offlineRevocation) ValidateContext(context.Context, revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	return nil, errors.New("revocation checking is off")
}

// verifyNotation checks a Notation envelope against target.
func verifyNotation(ctx context.Context, v notation.Verifier, f Found, target ocispec.Descriptor, ref string, ks KeySet) Signature {
	s := Signature{Format: FormatNotation, Form: f.Form, Manifest: f.Manifest}
	if v == nil {
		s.Reason = "made by an untrusted certificate: the trust store holds no certificates"
		return s
	}
	out, err := v.Verify(ctx, target, f.Envelope, notation.VerifierVerifyOptions{ArtifactReference: ref, SignatureMediaType: f.EnvelopeType})
	if out != nil && out.EnvelopeContent != nil && len(out.EnvelopeContent.SignerInfo.CertificateChain) > 0 {
		leaf := out.EnvelopeContent.SignerInfo.CertificateChain[0]
		s.Signer = Signer{Subject: leaf.Subject.String()}
		if id, err := KeyID(leaf.PublicKey); err == nil {
			s.Signer.KeyID = id
		}
		s.Signer.Name = entryName(ks, out.EnvelopeContent.SignerInfo.CertificateChain)
	}
	if err != nil {
		s.Reason = notationReason(err)
		if s.Signer.Subject != "" {
			s.Reason = "signed by " + s.Signer.String() + ", but " + s.Reason
		}
		return s
	}
	s.Verified = true
	return s
}

// entryName names the trust store entry a chain is anchored in.
func entryName(ks KeySet, chain []*x509.Certificate) string {
	for _, c := range chain {
		for _, e := range ks.certificates() {
			if e.Certificate().Equal(c) {
				return e.Name
			}
		}
	}
	return ""
}

func notationReason(err error) string {
	msg := err.Error()
	var inconclusive notation.ErrorVerificationInconclusive
	if errors.As(err, &inconclusive) {
		msg = inconclusive.Msg
	}
	if len(msg) > 400 {
		msg = msg[:400] + "…"
	}
	return fmt.Sprintf("Notation verification failed: %s", msg)
}
