package trust

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/signature"
)

// CosignSignatureType is the critical.type of cosign's simple-signing
// payload.
const CosignSignatureType = "cosign container image signature"

// SimpleSigning is cosign's signed payload (the "simple signing" format of
// containers/image).
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// ParseSimpleSigning reads a simple-signing payload.
func ParseSimpleSigning(b []byte) (*SimpleSigning, error) {
	if len(b) > maxPayload {
		return nil, fmt.Errorf("payload of %d bytes is larger than the limit of %d", len(b), maxPayload)
	}
	var p SimpleSigning
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("payload is not a simple-signing document: %v", err)
	}
	return &p, nil
}

// checkClaims checks that a payload is a cosign signature of d.
func (p *SimpleSigning) checkClaims(d digest.Digest) error {
	if p.Critical.Type != CosignSignatureType {
		return fmt.Errorf("the payload's type is %q, not %q", p.Critical.Type, CosignSignatureType)
	}
	if got := p.Critical.Image.DockerManifestDigest; got != d.String() {
		return fmt.Errorf("the payload signs %s, not this artifact (%s)", quoteOrEmpty(got), d)
	}
	return nil
}

func quoteOrEmpty(s string) string {
	if s == "" {
		return "no digest"
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}

// verifierFor loads the sigstore verifier of a trusted key: ECDSA with
// SHA-256, Ed25519, RSA PKCS#1 v1.5 with SHA-256, as cosign signs.
func verifierFor(e *Entry) (signature.Verifier, error) {
	return signature.LoadVerifier(e.PublicKey(), crypto.SHA256)
}

// verifyWithKeys finds the trusted key whose signature over msg is sig.
func verifyWithKeys(keys []*Entry, sig, msg []byte) (*Entry, error) {
	if len(keys) == 0 {
		return nil, errors.New("made by an untrusted key: the trust store holds no public keys")
	}
	var last error
	for _, k := range keys {
		v, err := verifierFor(k)
		if err != nil {
			last = err
			continue
		}
		if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg)); err == nil {
			return k, nil
		} else {
			last = err
		}
	}
	return nil, fmt.Errorf("made by an untrusted key, or altered: none of the %d trusted keys verifies it (%v)", len(keys), last)
}

// verifyCosign checks a simple-signing signature of d.
func verifyCosign(f Found, d digest.Digest, ks KeySet) Signature {
	s := Signature{Format: FormatCosign, Form: f.Form, Manifest: f.Manifest}
	p, err := ParseSimpleSigning(f.Payload)
	if err != nil {
		s.Reason = err.Error()
		return s
	}
	k, err := verifyWithKeys(ks.keys(), f.Sig, f.Payload)
	if err != nil {
		s.Reason = err.Error()
		return s
	}
	s.Signer = k.Signer()
	if err := p.checkClaims(d); err != nil {
		s.Reason = "signed by " + s.Signer.String() + ", but " + err.Error()
		return s
	}
	s.Verified = true
	return s
}

// Sigstore bundle (v0.3), DSSE form.

const (
	predicateCosignSign = "https://sigstore.dev/cosign/sign/v1"
	payloadTypeInToto   = "application/vnd.in-toto+json"
)

type bundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		Certificate *json.RawMessage `json:"certificate"`
		X509Chain   *json.RawMessage `json:"x509CertificateChain"`
	} `json:"verificationMaterial"`
	DSSE *struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig   string `json:"sig"`
			KeyID string `json:"keyid"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
	MessageSignature *json.RawMessage `json:"messageSignature"`
}

type inTotoStatement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string `json:"predicateType"`
}

// pae is DSSE's pre-authentication encoding, what a DSSE signature signs.
func pae(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "DSSEv1 %d %s %d ", len(payloadType), payloadType, len(payload))
	b.Write(payload)
	return b.Bytes()
}

// parseBundle reads a v0.3 bundle with a DSSE envelope and returns the
// statement, the signed bytes and the signatures.
func parseBundle(raw []byte) (*inTotoStatement, []byte, [][]byte, error) {
	if len(raw) > maxEnvelope {
		return nil, nil, nil, fmt.Errorf("bundle of %d bytes is larger than the limit of %d", len(raw), maxEnvelope)
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, nil, nil, fmt.Errorf("not a sigstore bundle: %v", err)
	}
	if !strings.HasPrefix(b.MediaType, "application/vnd.dev.sigstore.bundle") {
		return nil, nil, nil, fmt.Errorf("bundle media type %q is not a sigstore bundle", b.MediaType)
	}
	if b.DSSE == nil {
		if b.MessageSignature != nil {
			return nil, nil, nil, errors.New("message-signature bundles are not supported; berth verifies DSSE bundles")
		}
		return nil, nil, nil, errors.New("the bundle has no DSSE envelope")
	}
	if b.VerificationMaterial.PublicKey == nil {
		return nil, nil, nil, errors.New("keyless (certificate) bundles need a transparency log and Fulcio roots; berth verifies key-based signatures offline")
	}
	if b.DSSE.PayloadType != payloadTypeInToto {
		return nil, nil, nil, fmt.Errorf("DSSE payload type %q, want %q", b.DSSE.PayloadType, payloadTypeInToto)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		return nil, nil, nil, errors.New("the DSSE payload is not valid base64")
	}
	var sigs [][]byte
	for i, s := range b.DSSE.Signatures {
		if i == maxSigLayers {
			break
		}
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			return nil, nil, nil, errors.New("a DSSE signature is not valid base64")
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return nil, nil, nil, errors.New("the DSSE envelope has no signature")
	}
	var st inTotoStatement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, nil, nil, fmt.Errorf("the DSSE payload is not an in-toto statement: %v", err)
	}
	return &st, pae(b.DSSE.PayloadType, payload), sigs, nil
}

// verifyBundle checks a bundle signature of d.
func verifyBundle(f Found, d digest.Digest, ks KeySet) Signature {
	s := Signature{Format: FormatCosign, Form: f.Form, Manifest: f.Manifest}
	st, signed, sigs, err := parseBundle(f.Bundle)
	if err != nil {
		s.Reason = err.Error()
		return s
	}
	var k *Entry
	for _, sig := range sigs {
		if k, err = verifyWithKeys(ks.keys(), sig, signed); err == nil {
			break
		}
	}
	if k == nil {
		s.Reason = err.Error()
		return s
	}
	s.Signer = k.Signer()
	if st.PredicateType != predicateCosignSign {
		s.Reason = fmt.Sprintf("signed by %s, but the statement's predicate type is %q, not a cosign signature", s.Signer, st.PredicateType)
		return s
	}
	for _, sub := range st.Subject {
		if sub.Digest[d.Algorithm().String()] == d.Encoded() {
			s.Verified = true
			return s
		}
	}
	s.Reason = "signed by " + s.Signer.String() + ", but the statement's subjects do not include this artifact (" + d.String() + ")"
	return s
}
