package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Handler serves, for every project:
//
//	GET    /chartrepo/{project}/index.yaml
//	GET    /chartrepo/{project}/charts/{name}-{version}.tgz  (and .prov)
//	POST   /api/chartrepo/{project}/charts                   raw .tgz, or multipart "chart" + "prov"; ?force
//	GET    /api/chartrepo/{project}/charts                   all charts
//	GET    /api/chartrepo/{project}/charts/{name}            one chart's versions
//	GET    /api/chartrepo/{project}/charts/{name}/{version}  one version
//	DELETE /api/chartrepo/{project}/charts/{name}/{version}
//	GET    /api/chartrepo/{project}/export                   the project's charts as one bundle (Export)
//	POST   /api/chartrepo/{project}/import                   a bundle's charts (Import)
//
// Errors are ChartMuseum's JSON: {"error": "..."}. access is asked before
// every request.
func (r *Repo) Handler(access Access) http.Handler {
	if access == nil {
		access = AllowAll
	}
	h := &handler{repo: r, access: access}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chartrepo/{project}/index.yaml", h.guard(ActionRead, h.getIndex))
	mux.HandleFunc("GET /chartrepo/{project}/charts/{file}", h.guard(ActionRead, h.getFile))
	mux.HandleFunc("POST /api/chartrepo/{project}/charts", h.guard(ActionUpload, h.upload))
	mux.HandleFunc("GET /api/chartrepo/{project}/charts", h.guard(ActionRead, h.list))
	mux.HandleFunc("GET /api/chartrepo/{project}/charts/{name}", h.guard(ActionRead, h.versions))
	mux.HandleFunc("GET /api/chartrepo/{project}/charts/{name}/{version}", h.guard(ActionRead, h.version))
	mux.HandleFunc("DELETE /api/chartrepo/{project}/charts/{name}/{version}", h.guard(ActionDelete, h.delete))
	mux.HandleFunc("GET /api/chartrepo/{project}/export", h.guard(ActionExport, h.export))
	mux.HandleFunc("POST /api/chartrepo/{project}/import", h.guard(ActionImport, h.importBundle))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	return mux
}

type handler struct {
	repo   *Repo
	access Access
}

func (h *handler) guard(action string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		project := req.PathValue("project")
		if !validProject(project) {
			writeError(w, http.StatusBadRequest, "invalid project name")
			return
		}
		ok, status, reason := h.access.Allowed(req, project, action)
		if !ok {
			if status == 0 {
				status = http.StatusForbidden
			}
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="berth"`)
			}
			writeError(w, status, reason)
			return
		}
		next(w, req)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeErr maps package errors to statuses.
func (h *handler) writeErr(w http.ResponseWriter, req *http.Request, err error) {
	var tooLarge *TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, ErrExists):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNoProject):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrInvalidChart), errors.Is(err, ErrInvalidProvenance), errors.Is(err, errBadProject),
		errors.Is(err, ErrInvalidBundle):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		h.repo.log.ErrorContext(req.Context(), "chart request", "method", req.Method, "path", req.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func (h *handler) getIndex(w http.ResponseWriter, req *http.Request) {
	body, gen, err := h.repo.index(req.Context(), req.PathValue("project"))
	if err != nil {
		h.writeErr(w, req, err)
		return
	}
	etag := `"` + strconv.FormatInt(gen, 10) + "-" + strconv.Itoa(len(body)) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if req.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/x-yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if req.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// getFile serves name-version.tgz or name-version.tgz.prov. Names and
// versions may both contain '-', so every split is tried.
func (h *handler) getFile(w http.ResponseWriter, req *http.Request) {
	file := req.PathValue("file")
	base, prov := strings.CutSuffix(file, ".prov")
	base, ok := strings.CutSuffix(base, ".tgz")
	if !ok {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	project := req.PathValue("project")
	var v *Version
	for i := strings.IndexByte(base, '-'); i >= 0 && v == nil; {
		got, err := h.repo.Get(req.Context(), project, base[:i], base[i+1:])
		switch {
		case err == nil:
			v = got
		case !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNoProject):
			h.writeErr(w, req, err)
			return
		}
		j := strings.IndexByte(base[i+1:], '-')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if v == nil {
		writeError(w, http.StatusNotFound, "chart not found")
		return
	}
	dgst := "sha256:" + v.Digest
	ctype := "application/gzip"
	if prov {
		if v.ProvDigest == "" {
			writeError(w, http.StatusNotFound, "no provenance file for "+file)
			return
		}
		dgst, ctype = v.ProvDigest, "application/pgp-signature"
	}
	rc, err := h.repo.blobs.Open(req.Context(), digest.Digest(dgst))
	if err != nil {
		h.writeErr(w, req, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("ETag", `"`+dgst+`"`)
	http.ServeContent(w, req, file, v.Created, rc)
}

func (h *handler) upload(w http.ResponseWriter, req *http.Request) {
	project := req.PathValue("project")
	force := false
	if f, ok := req.URL.Query()["force"]; ok {
		force = len(f) == 0 || f[0] == "" || f[0] == "true" || f[0] == "1"
	}
	// Bound the body: the archive limit plus room for a .prov and multipart framing.
	req.Body = http.MaxBytesReader(w, req.Body, h.repo.maxSize+maxProvSize+64<<10)
	var archive, prov io.Reader = req.Body, nil
	if mt, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "multipart/form-data" {
		files, err := readMultipart(req.Body, params["boundary"], h.repo.maxSize)
		if err != nil {
			h.writeErr(w, req, err)
			return
		}
		if files["chart"] == nil {
			writeError(w, http.StatusBadRequest, `multipart upload has no "chart" part`)
			return
		}
		archive = bytes.NewReader(files["chart"])
		if files["prov"] != nil {
			prov = bytes.NewReader(files["prov"])
		}
	}
	if _, err := h.repo.Upload(req.Context(), project, archive, prov, force); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = &TooLargeError{What: "request body", Limit: mbe.Limit}
		}
		h.writeErr(w, req, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]bool{"saved": true})
}

func (h *handler) list(w http.ResponseWriter, req *http.Request) {
	all, err := h.repo.List(req.Context(), req.PathValue("project"))
	if err != nil {
		h.writeErr(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, all)
}

func (h *handler) versions(w http.ResponseWriter, req *http.Request) {
	vs, err := h.repo.Versions(req.Context(), req.PathValue("project"), req.PathValue("name"))
	if err != nil {
		h.writeErr(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, vs)
}

func (h *handler) version(w http.ResponseWriter, req *http.Request) {
	v, err := h.repo.Get(req.Context(), req.PathValue("project"), req.PathValue("name"), req.PathValue("version"))
	if err != nil {
		h.writeErr(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *handler) delete(w http.ResponseWriter, req *http.Request) {
	if err := h.repo.Delete(req.Context(), req.PathValue("project"), req.PathValue("name"), req.PathValue("version")); err != nil {
		h.writeErr(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}
