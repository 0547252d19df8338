package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// MaxBody is the largest review accepted, in bytes: the API server's own
// limit on a request body.
const MaxBody = 3 << 20

// maxTimeout bounds the time a review may take, whatever the API server
// asks (it allows a webhook at most 30 seconds).
const maxTimeout = 30 * time.Second

// Validate serves the validating webhook: POST an AdmissionReview, get
// one back with the decision.
func (rv *Reviewer) Validate() http.Handler { return rv.handler(false) }

// Mutate serves the mutating webhook: the decision of Validate and, made
// WithPinning, the patch pinning tags to digests.
func (rv *Reviewer) Mutate() http.Handler { return rv.handler(true) }

func (rv *Reviewer) handler(pin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "admission reviews are POSTed", http.StatusMethodNotAllowed)
			return
		}
		review, status, err := decodeReview(w, r)
		if err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeoutOf(r))
		defer cancel()
		resp, err := rv.Review(ctx, review.Request, pin)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := Review{APIVersion: review.APIVersion, Kind: review.Kind, Response: resp}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// decodeReview reads an admission.k8s.io/v1 AdmissionReview with a
// request, or says what is wrong with it and the status to answer.
func decodeReview(w http.ResponseWriter, r *http.Request) (*Review, int, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: want application/json", ct)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("admission review over %d bytes", MaxBody)
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("reading the admission review: %w", err)
	}
	review, err := ParseReview(body)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return review, http.StatusOK, nil
}

// ParseReview decodes an admission.k8s.io/v1 AdmissionReview carrying a
// request with a uid; anything else is an error saying what is wrong.
func ParseReview(body []byte) (*Review, error) {
	var review Review
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&review); err != nil {
		return nil, fmt.Errorf("not an AdmissionReview: %w", err)
	}
	if dec.Decode(new(json.RawMessage)) != io.EOF {
		return nil, errors.New("not an AdmissionReview: data after the JSON object")
	}
	switch {
	case review.APIVersion != APIVersion || review.Kind != "AdmissionReview":
		return nil, fmt.Errorf("apiVersion %q, kind %q: want %s, AdmissionReview (admissionReviewVersions: [\"v1\"])",
			review.APIVersion, review.Kind, APIVersion)
	case review.Request == nil:
		return nil, errors.New("AdmissionReview without a request")
	case review.Request.UID == "":
		return nil, errors.New("AdmissionReview request without a uid")
	}
	return &review, nil
}

// timeoutOf is the time the API server gives the webhook (its timeout
// query parameter), at most maxTimeout.
func timeoutOf(r *http.Request) time.Duration {
	d, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err != nil || d <= 0 || d > maxTimeout {
		return maxTimeout
	}
	return d
}
