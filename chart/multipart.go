package chart

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
)

// readMultipart reads the "chart" and "prov" parts of a ChartMuseum upload,
// each bounded, ignoring other parts.
func readMultipart(body io.Reader, boundary string, maxChart int64) (map[string][]byte, error) {
	if boundary == "" {
		return nil, fmt.Errorf("%w: multipart upload without boundary", ErrInvalidChart)
	}
	mr := multipart.NewReader(body, boundary)
	out := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &TooLargeError{What: "request body", Limit: mbe.Limit}
			}
			return nil, fmt.Errorf("%w: malformed multipart upload: %v", ErrInvalidChart, err)
		}
		var limit int64
		var what string
		switch p.FormName() {
		case "chart":
			limit, what = maxChart, "chart archive"
		case "prov":
			limit, what = maxProvSize, "provenance file"
		default:
			_, _ = io.Copy(io.Discard, p)
			continue
		}
		b, err := readLimited(p, limit, what)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &TooLargeError{What: "request body", Limit: mbe.Limit}
			}
			return nil, err
		}
		out[p.FormName()] = b
	}
}
