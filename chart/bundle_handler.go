package chart

import (
	"errors"
	"mime"
	"net/http"
)

// export streams the project's bundle. Errors found before the first
// byte (no such project, a missing blob) get a status; a blob that fails
// its digest check later cuts the stream, which the client sees as a
// truncated gzip stream.
func (h *handler) export(w http.ResponseWriter, req *http.Request) {
	project := req.PathValue("project")
	m, err := h.repo.bundleManifest(req.Context(), project)
	if err != nil {
		h.writeErr(w, req, err)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+project+`-charts.tar.gz"`)
	if err := h.repo.writeBundle(req.Context(), m, w); err != nil {
		h.repo.log.ErrorContext(req.Context(), "chart export cut short", "project", project, "err", err)
		panic(http.ErrAbortHandler) // the client must not take a cut bundle for a whole one
	}
}

// importBundle imports a bundle sent as the request body.
func (h *handler) importBundle(w http.ResponseWriter, req *http.Request) {
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case "application/gzip", "application/x-gzip", "application/x-tar+gzip", "application/octet-stream":
		default:
			writeError(w, http.StatusUnsupportedMediaType, "send the bundle as application/gzip, not "+ct)
			return
		}
	}
	// The manifest bounds what is read after decompression; this bounds
	// the compressed bytes (with room for tar and gzip framing).
	limit := h.repo.maxBundle + h.repo.maxBundle/64 + maxBundleManifest
	req.Body = http.MaxBytesReader(w, req.Body, limit)
	res, err := h.repo.Import(req.Context(), req.PathValue("project"), req.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = &TooLargeError{What: "request body", Limit: mbe.Limit}
		}
		h.writeErr(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
