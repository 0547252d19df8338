package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// artifactAction runs one of the artifact page's forms: POST
// /projects/{id}/artifact/{action} with repo and digest in the form, and
// answers with a redirect to the page (the section the action concerns).
func (u *UI) artifactAction(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	f := r.PostForm
	repo, dgst := f.Get("repo"), f.Get("digest")
	path := artifactPath(p, repo, dgst)
	if path == "" {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "artd.nosuch")})
		return
	}
	back := func(view string) string {
		return "/projects/" + itoa(p.ProjectID) + "/artifact?" + url.Values{"repo": {repo}, "digest": {dgst}, "view": {view}}.Encode()
	}
	var err error
	target, flash := back("overview"), ""
	switch r.PathValue("action") {
	case "addtag":
		tag := strings.TrimSpace(f.Get("tag"))
		_, err = s.api.send(http.MethodPost, path+"/tags", map[string]string{"name": tag}, nil)
		flash = "artd.tagadded"
	case "deltag":
		_, err = s.api.send(http.MethodDelete, path+"/tags/"+esc(f.Get("tag")), nil, nil)
		flash = "artd.tagdeleted"
	case "addlabel", "dellabel":
		id, perr := strconv.ParseInt(f.Get("label_id"), 10, 64)
		if perr != nil || id <= 0 {
			u.redirect(w, r, target, "", errorText(u.cat.text(language(r), "artd.picklabel")))
			return
		}
		if r.PathValue("action") == "addlabel" {
			_, err = s.api.send(http.MethodPost, path+"/labels", map[string]int64{"id": id}, nil)
			flash = "artd.labeladded"
		} else {
			_, err = s.api.send(http.MethodDelete, path+"/labels/"+itoa(id), nil, nil)
			flash = "artd.labelremoved"
		}
	case "scan":
		_, err = s.api.send(http.MethodPost, path+"/scan", map[string]string{}, nil)
		target, flash = back("vulnerabilities"), "artd.scanstarted"
	case "sbom":
		_, err = s.api.send(http.MethodPost, path+"/scan", map[string]string{"scan_type": "sbom"}, nil)
		target, flash = back("sbom"), "artd.sbomstarted"
	case "delete":
		if _, err = s.api.send(http.MethodDelete, path, nil, nil); err == nil {
			target = "/projects/" + itoa(p.ProjectID) + "/repositories"
		}
		flash = "artd.deleted"
	default:
		u.notFound(w, r, s)
		return
	}
	u.redirect(w, r, target, flash, err)
}
