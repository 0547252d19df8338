package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// pageTemplate is one page: the layout, the shared partials and the
// page's own templates/pages/<name>.html, which defines "content".
type pageTemplate struct{ t *template.Template }

// parsePages parses every page over the layout and partials.
func parsePages(fsys fs.FS) (map[string]*pageTemplate, error) {
	base, err := template.New("layout").Funcs(funcs()).ParseFS(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, f := range files {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if t, err = t.ParseFS(fsys, f); err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = &pageTemplate{t: t}
	}
	return pages, nil
}

// funcs are the templates' helpers that need no request.
func funcs() template.FuncMap {
	return template.FuncMap{
		"bytes":    humanBytes,
		"time":     func(t time.Time) string { return localTime(t) },
		"timestr":  func(s string) string { return timeString(s) },
		"short":    shortDigest,
		"add":      func(a, b int) int { return a + b },
		"join":     strings.Join,
		"contains": func(list []string, s string) bool { return contains(list, s) },
		"pct": func(part, whole int64) int {
			if whole <= 0 {
				return 0
			}
			return int(part * 100 / whole)
		},
	}
}

// view is what every page template gets as its dot.
type view struct {
	Base     string // the portal's path prefix ("" at the root)
	Path     string // this page's path and query, for the language switch
	Lang     string
	Langs    []string
	User     *currentUser
	CSRF     string
	Nav      string // the menu entry to highlight
	Tab      string // the project tab to highlight
	Title    string // a catalog key
	TitleArg string // shown after the title (a project's name)
	Flash    string
	Error    string
	Data     any
	cat      *catalog
}

// T is key's text in the page's language.
func (v *view) T(key string, args ...any) string { return v.cat.text(v.Lang, key, args...) }

// URL joins the base path and the parts (numbers and strings; strings
// are used as they are: escape segments with esc).
func (v *view) URL(parts ...any) string {
	var b strings.Builder
	b.WriteString(v.Base)
	for _, p := range parts {
		fmt.Fprint(&b, p)
	}
	return b.String()
}

// Esc escapes one path segment.
func (v *view) Esc(s string) string { return url.PathEscape(s) }

// Q escapes a query value.
func (v *view) Q(s string) string { return url.QueryEscape(s) }

// render writes page name with data; status 0 means 200.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	p, ok := u.pages[name]
	if !ok {
		u.log.Error("ui: no such page template", "page", name)
		http.Error(w, "page not found", http.StatusInternalServerError)
		return
	}
	u.fill(w, r, v)
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout", v); err != nil {
		u.log.Error("ui: rendering", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if status != 0 {
		w.WriteHeader(status)
	}
	_, _ = buf.WriteTo(w)
}

// fill sets what every view carries.
func (u *UI) fill(w http.ResponseWriter, r *http.Request, v *view) {
	v.Base, v.Lang, v.Langs, v.cat = u.base, language(r), languages[:], u.cat
	v.Path = r.URL.RequestURI()
	if v.CSRF == "" {
		v.CSRF = w.Header().Get(csrfHeader)
	}
	if v.Flash == "" && v.Error == "" {
		v.Flash, v.Error = takeFlash(w, r, u.base)
	}
}

// failed renders the error page for err (an API error keeps its status:
// 404 for what is gone or not visible, 403 for what is not allowed).
func (u *UI) failed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := statusOf(err)
	if status == http.StatusUnauthorized {
		u.toLogin(w, r)
		return
	}
	if status >= 500 {
		u.log.Error("ui: page", "path", r.URL.Path, "err", err)
	}
	v := &view{Title: "error.title", Error: err.Error(), Data: status}
	if s != nil {
		v.User, v.CSRF = s.user, s.api.csrf
	}
	u.render(w, r, status, "error", v)
}

// redirect answers a form post: to target (a path under the base), with
// a message for the next page (a catalog key, or an error's text).
func (u *UI) redirect(w http.ResponseWriter, r *http.Request, target, flashKey string, err error) {
	switch {
	case err != nil:
		setFlash(w, r, u.base, "e", err.Error())
	case flashKey != "":
		setFlash(w, r, u.base, "k", flashKey)
	}
	http.Redirect(w, r, u.base+target, http.StatusSeeOther)
}

// humanBytes formats a size the way Harbor's portal does (1024-based).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// timeString formats an RFC 3339 time from the API.
func timeString(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return localTime(t)
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
