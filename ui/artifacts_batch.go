package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxBatch bounds the artifacts one batch operation acts on (a page
// shows at most 100).
const maxBatch = 100

// artifactsBatch runs op (scan, delete, label, copy) on the checked
// artifacts (form field digest, repeated) of repository rel, one API call
// each, and reports on the next page which ones failed and why.
func (u *UI) artifactsBatch(w http.ResponseWriter, r *http.Request, s *session, p *project, rel string) {
	f := r.PostForm
	lang := language(r)
	back := repoURL(p, rel)
	if f.Get("view") == "tags" {
		back += "?view=tags"
	}
	var digests []string
	for _, d := range f["digest"] {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(digests, d) {
			digests = append(digests, d)
		}
	}
	if len(digests) == 0 {
		u.redirect(w, r, back, "", errorText(u.cat.text(lang, "art.nonechecked")))
		return
	}
	if len(digests) > maxBatch {
		u.redirect(w, r, back, "", errorText(u.cat.text(lang, "art.toomany", maxBatch)))
		return
	}
	base := "/projects/" + esc(p.Name) + "/repositories/" + repoPath(rel) + "/artifacts/"
	var each func(d string) error
	var done string
	switch f.Get("op") {
	case "scan":
		done = "art.scanstarted"
		each = func(d string) error {
			_, err := s.api.send(http.MethodPost, base+esc(d)+"/scan", nil, nil)
			return err
		}
	case "delete":
		done = "art.deletedok"
		each = func(d string) error {
			_, err := s.api.send(http.MethodDelete, base+esc(d), nil, nil)
			return err
		}
	case "label":
		id, err := strconv.ParseInt(f.Get("label_id"), 10, 64)
		if err != nil || id <= 0 {
			u.redirect(w, r, back, "", errorText(u.cat.text(lang, "art.nolabel")))
			return
		}
		done = "art.labeledok"
		each = func(d string) error {
			_, err := s.api.send(http.MethodPost, base+esc(d)+"/labels", map[string]int64{"id": id}, nil)
			return err
		}
	case "copy":
		var err error
		if each, err = u.copyEach(r, s, p, rel, len(digests)); err != nil {
			u.redirect(w, r, back, "", err)
			return
		}
		done = "art.copiedok"
	default:
		u.redirect(w, r, back, "", errorText(u.cat.text(lang, "art.badop")))
		return
	}
	var failed []string
	for _, d := range digests {
		if err := each(d); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %s", shortDigest(d), err.Error()))
		}
	}
	if len(failed) > 0 {
		msg := u.cat.text(lang, "art.partial", len(digests)-len(failed), len(digests)) + " " + strings.Join(failed, "; ")
		u.redirect(w, r, back, "", errorText(msg))
		return
	}
	u.redirect(w, r, back, done, nil)
}

// copyEach reads the copy form (target project, repository and an
// optional tag, which needs a single artifact) and returns the copy of
// one artifact: the API copies by digest, then tags the copy.
func (u *UI) copyEach(r *http.Request, s *session, p *project, rel string, n int) (func(string) error, error) {
	f := r.PostForm
	lang := language(r)
	proj, repo, tag := strings.TrimSpace(f.Get("target_project")), strings.Trim(strings.TrimSpace(f.Get("target_repo")), "/"), strings.TrimSpace(f.Get("target_tag"))
	if proj == "" || repo == "" {
		return nil, errorText(u.cat.text(lang, "art.copytarget"))
	}
	if tag != "" && n > 1 {
		return nil, errorText(u.cat.text(lang, "art.copyonetag"))
	}
	// Into the same repository, the copy is only a new tag (retag).
	same := proj == p.Name && repo == rel
	if same && tag == "" {
		return nil, errorText(u.cat.text(lang, "art.copysame"))
	}
	target := "/projects/" + esc(proj) + "/repositories/" + repoPath(repo) + "/artifacts"
	from := p.Name + "/" + rel + "@"
	return func(d string) error {
		if !same {
			if _, err := s.api.send(http.MethodPost, target+"?from="+url.QueryEscape(from+d), nil, nil); err != nil {
				return err
			}
		}
		if tag == "" {
			return nil
		}
		_, err := s.api.send(http.MethodPost, target+"/"+esc(d)+"/tags", map[string]string{"name": tag}, nil)
		return err
	}, nil
}
