package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Headers of every delivery.
const (
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256 of the
	// exact body under the policy's secret.
	HeaderSignature = "X-Berth-Signature-256"
	// HeaderDelivery carries the delivery's id, the same on every
	// attempt: receivers drop a delivery they have already handled.
	HeaderDelivery = "X-Berth-Delivery"
	// HeaderEvent carries the event type, "PUSH_ARTIFACT".
	HeaderEvent = "X-Berth-Event"
)

const signaturePrefix = "sha256="

// Sign returns the HeaderSignature value of body under secret:
// "sha256=" and the lower-case hex HMAC-SHA256.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header, a HeaderSignature value, is body's
// signature under secret. It compares in constant time; an empty secret
// verifies nothing. A receiver verifies the raw body before parsing it:
//
//	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	if err != nil || !webhook.Verify(secret, body, r.Header.Get(webhook.HeaderSignature)) {
//		http.Error(w, "bad signature", http.StatusUnauthorized)
//		return
//	}
func Verify(secret, body []byte, header string) bool {
	if len(secret) == 0 || len(header) != len(signaturePrefix)+2*sha256.Size ||
		!strings.EqualFold(header[:len(signaturePrefix)], signaturePrefix) {
		return false
	}
	got, err := hex.DecodeString(header[len(signaturePrefix):])
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
