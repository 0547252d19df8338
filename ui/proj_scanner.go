package ui

import (
	"net/http"
	"net/url"
)

// scannerReg is a scanner registration as the API shows it.
type scannerReg struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Disabled    bool   `json:"disabled"`
	IsDefault   bool   `json:"is_default"`
	Builtin     bool   `json:"builtin"`
}

type projScannerView struct {
	Project    *project
	Scanner    *scannerReg // nil: none is set and there is no default
	Candidates []scannerReg
	More       bool // there are more candidates than the form lists
	CanChange  bool
}

// maxCandidates bounds the scanners the form offers: a registry has a
// handful; past that the page says the list is cut.
const maxCandidates = 100

func (u *UI) projScannerPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	id := itoa(p.ProjectID)
	v := projScannerView{Project: p}
	var cur scannerReg
	if _, err := s.api.get("/projects/"+id+"/scanner", &cur); err == nil {
		v.Scanner = &cur
	} else if statusOf(err) != http.StatusNotFound {
		u.failed(w, r, s, err)
		return
	}
	// Only the project's admins may choose (the API answers 403 to the
	// others, who then see no form).
	q := url.Values{"page": {"1"}, "page_size": {itoa(maxCandidates)}, "sort": {"name"}}
	if a, err := s.api.get("/projects/"+id+"/scanner/candidates?"+q.Encode(), &v.Candidates); err == nil {
		v.CanChange, v.More = true, a.total() > len(v.Candidates)
	}
	u.render(w, r, 0, "proj_scanner", projectView(s, p, "scanner", "proj.scanner.title", v))
}

func (u *UI) projSetScanner(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	id := itoa(p.ProjectID)
	_, err := s.api.send(http.MethodPut, "/projects/"+id+"/scanner", map[string]string{"uuid": r.PostForm.Get("uuid")}, nil)
	u.redirect(w, r, "/projects/"+id+"/scanner", "proj.scanner.saved", err)
}
