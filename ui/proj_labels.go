package ui

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// projLabel is a label as /labels answers.
type projLabel struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Color        string `json:"color"`
	Scope        string `json:"scope"`
	ProjectID    int64  `json:"project_id"`
	CreationTime string `json:"creation_time"`
}

// ColorClass is the swatch class of a label's colour: the colour itself
// cannot be given (the CSP blocks style attributes), so the page shows a
// fixed palette; other colours show as text.
func (l projLabel) ColorClass() string {
	if contains(labelColors[:], strings.ToLower(l.Color)) {
		return "proj-c" + strings.TrimPrefix(strings.ToLower(l.Color), "#")
	}
	return ""
}

// labelColors are the colours the label form offers (Harbor's palette,
// in part); each has a swatch class in berth.css.
var labelColors = [...]string{"#0065ab", "#1d5100", "#c92100", "#8939b5", "#c25400", "#006668", "#313131", "#9b870c"}

// Colors lists the palette for the templates.
func (v projLabelsView) Colors() []string { return labelColors[:] }

type projLabelsView struct {
	Project *project
	List    *listQuery
	Labels  []projLabel
}

func (u *UI) projLabelsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	l := parseList(r, "name", "creation_time")
	q := l.apiParams()
	q.Set("scope", "p")
	q.Set("project_id", itoa(p.ProjectID))
	if l.Search != "" {
		q.Set("name", l.Search)
	}
	v := projLabelsView{Project: p, List: l}
	a, err := s.api.get("/labels?"+q.Encode(), &v.Labels)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "proj_labels", projectView(s, p, "labels", "proj.labels.title", v))
}

var hexColor = regexp.MustCompile(`^(#[0-9a-fA-F]{6})?$`)

// labelForm reads the create and edit form's fields.
func labelForm(r *http.Request) (map[string]any, bool) {
	f := r.PostForm
	color := f.Get("color")
	if !hexColor.MatchString(color) {
		return nil, false
	}
	return map[string]any{"name": strings.TrimSpace(f.Get("name")), "description": strings.TrimSpace(f.Get("description")),
		"color": color}, true
}

func (u *UI) projCreateLabel(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	back := "/projects/" + itoa(p.ProjectID) + "/labels"
	body, ok := labelForm(r)
	if !ok {
		u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "proj.labels.badcolor")))
		return
	}
	body["scope"], body["project_id"] = "p", p.ProjectID
	_, err := s.api.send(http.MethodPost, "/labels", body, nil)
	u.redirect(w, r, back, "proj.labels.createdok", err)
}

// projLabelOf reads the {label} of the path, which must be a label of
// project p: the label endpoints are not under the project, so a label of
// another project must not be reachable through this one's pages.
func (u *UI) projLabelOf(r *http.Request, s *session, p *project) (*projLabel, error) {
	id, err := strconv.ParseInt(r.PathValue("label"), 10, 64)
	notFound := &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "proj.labels.nolabel")}
	if err != nil || id <= 0 {
		return nil, notFound
	}
	var l projLabel
	if _, err := s.api.get("/labels/"+itoa(id), &l); err != nil {
		return nil, err
	}
	if l.Scope != "p" || l.ProjectID != p.ProjectID {
		return nil, notFound
	}
	return &l, nil
}

func (u *UI) projEditLabel(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	back := "/projects/" + itoa(p.ProjectID) + "/labels"
	l, err := u.projLabelOf(r, s, p)
	if err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	body, ok := labelForm(r)
	if !ok {
		u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "proj.labels.badcolor")))
		return
	}
	_, err = s.api.send(http.MethodPut, "/labels/"+itoa(l.ID), body, nil)
	u.redirect(w, r, back, "proj.labels.saved", err)
}

func (u *UI) projDeleteLabel(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	back := "/projects/" + itoa(p.ProjectID) + "/labels"
	l, err := u.projLabelOf(r, s, p)
	if err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	_, err = s.api.send(http.MethodDelete, "/labels/"+itoa(l.ID), nil, nil)
	u.redirect(w, r, back, "proj.labels.deleted", err)
}
