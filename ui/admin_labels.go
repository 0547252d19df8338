package ui

import (
	"net/http"
	"regexp"
	"strings"
)

// label is a label as /labels lists it.
type label struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Color        string `json:"color"`
	CreationTime string `json:"creation_time"`
}

// adminLabelColors are the colours a label may take: the page shows a label's
// colour as a class (the CSP forbids style attributes), so the choice is
// this palette, Harbor's first row of label colours.
var adminLabelColors = [...]string{"#0065AB", "#343DAC", "#781DA0", "#9B0D54", "#C92100", "#CD3517", "#C25400", "#D28F00",
	"#006668", "#006690", "#004A70", "#48960C", "#62A420", "#00AB9A", "#00B7D6", "#0081A7"}

// Colors lists the palette for the forms.
func (labelsView) Colors() []string { return adminLabelColors[:] }

// ColorClass is the CSS class showing label colour c, for the templates.
func (v *view) ColorClass(c string) string { return labelColorClass(c) }

// labelColorClass is the CSS class showing c, or "" for a colour off the
// palette.
func labelColorClass(c string) string {
	for _, x := range adminLabelColors {
		if strings.EqualFold(x, c) {
			return "lc-" + strings.ToLower(x[1:])
		}
	}
	return ""
}

// Class is the label's colour class.
func (l label) Class() string { return labelColorClass(l.Color) }

type labelsView struct {
	List   *listQuery
	Labels []label
}

func (u *UI) labelsPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := parseList(r, "name", "creation_time")
	p := l.apiParams()
	p.Set("scope", "g")
	if l.Search != "" {
		p.Set("name", l.Search)
	}
	var v labelsView
	a, err := s.api.get("/labels?"+p.Encode(), &v.Labels)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total, v.List = a.total(), l
	u.render(w, r, 0, "admin_labels", adminView(s, "labels", "labels.title", v))
}

var adminHexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// adminLabelForm is the label the create and edit forms describe.
func adminLabelForm(r *http.Request) map[string]any {
	c := r.PostForm.Get("color")
	if !adminHexColor.MatchString(c) {
		c = ""
	}
	return map[string]any{"name": strings.TrimSpace(r.PostForm.Get("name")),
		"description": strings.TrimSpace(r.PostForm.Get("description")), "color": c}
}

func (u *UI) createLabel(w http.ResponseWriter, r *http.Request, s *session) {
	body := adminLabelForm(r)
	body["scope"] = "g"
	if _, err := s.api.send(http.MethodPost, "/labels", body, nil); err != nil {
		u.redirect(w, r, "/admin/labels", "", err)
		return
	}
	u.redirect(w, r, "/admin/labels", "labels.created", nil)
}

func (u *UI) updateLabel(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	if _, err := s.api.send(http.MethodPut, "/labels/"+id, adminLabelForm(r), nil); err != nil {
		u.redirect(w, r, "/admin/labels", "", err)
		return
	}
	u.redirect(w, r, "/admin/labels", "labels.updated", nil)
}

func (u *UI) deleteLabel(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	if _, err := s.api.send(http.MethodDelete, "/labels/"+id, nil, nil); err != nil {
		u.redirect(w, r, "/admin/labels", "", err)
		return
	}
	u.redirect(w, r, "/admin/labels", "labels.deleted", nil)
}
