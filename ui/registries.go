package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// registry is a replication endpoint as the API shows it (the secret is
// never answered).
type registry struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	URL         string `json:"url"`
	Insecure    bool   `json:"insecure"`
	Status      string `json:"status"`
	Credential  *struct {
		AccessKey string `json:"access_key"`
	} `json:"credential"`
	CreationTime string `json:"creation_time"`
}

// AccessKey is the stored credential's user, or "".
func (r registry) AccessKey() string {
	if r.Credential == nil {
		return ""
	}
	return r.Credential.AccessKey
}

// registryForm is what the registry form holds: a stored registry, or
// what the user typed before a connection test.
type registryForm struct {
	ID          int64
	Type        string
	Name        string
	Description string
	URL         string
	AccessKey   string
	Secret      string
	Insecure    bool
	Open        bool // show the form unfolded (after a test)
}

type registriesView struct {
	List       *listQuery
	Registries []registry
	Types      []string
	Form       registryForm
	Registry   *registry // the edit page's registry
}

// registryTypes are the types a registry may have, as the API lists them.
func registryTypes(s *session) []string {
	var types []string
	if _, err := s.api.get("/replication/adapters", &types); err != nil || len(types) == 0 {
		return []string{"docker-registry"}
	}
	return types
}

func (u *UI) registriesPage(w http.ResponseWriter, r *http.Request, s *session) {
	u.renderRegistries(w, r, s, 0, registryForm{Type: "harbor"}, "", nil)
}

// renderRegistries shows the list with the new-registry form holding f,
// and what became of it: a connection test's outcome or why saving failed
// (flash key, or the API's refusal).
func (u *UI) renderRegistries(w http.ResponseWriter, r *http.Request, s *session, status int, f registryForm, flash string, formErr error) {
	l := storeOrder(r, parseList(r, "name", "creation_time"))
	p := l.apiParams()
	if l.Search != "" {
		p.Set("q", "name=~"+l.Search)
	}
	// health=true asks the API to check each listed registry: at most a
	// page of them.
	p.Set("health", "true")
	v := registriesView{Form: f, Types: registryTypes(s)}
	a, err := s.api.get("/registries?"+p.Encode(), &v.Registries)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total, v.List = a.total(), l
	u.render(w, r, status, "registries", regView(s, "reg.title", flash, formErr, v))
}

func regView(s *session, title, flash string, err error, data any) *view {
	v := &view{User: s.user, CSRF: s.api.csrf, Nav: "registries", Title: title, Flash: flash, Data: data}
	if err != nil {
		v.Error = err.Error()
	}
	return v
}

// registryFormOf reads the registry form.
func registryFormOf(f url.Values) registryForm {
	return registryForm{Type: f.Get("type"), Name: strings.TrimSpace(f.Get("name")), Description: f.Get("description"),
		URL: strings.TrimSpace(f.Get("url")), AccessKey: strings.TrimSpace(f.Get("access_key")), Secret: f.Get("access_secret"),
		Insecure: f.Get("insecure") == "true", Open: true}
}

// body is the API's registry for f; a blank secret on an edit keeps the
// stored credential (no credential sent), unless the access id changed.
func (f registryForm) body(stored *registry) map[string]any {
	b := map[string]any{"name": f.Name, "description": f.Description, "type": f.Type, "url": f.URL, "insecure": f.Insecure}
	switch {
	case f.Secret != "" || (stored == nil && f.AccessKey != ""):
		b["credential"] = map[string]string{"type": "basic", "access_key": f.AccessKey, "access_secret": f.Secret}
	case stored != nil && f.AccessKey != stored.AccessKey():
		// A changed access id without a secret: the API keeps the stored
		// secret for it; an emptied id clears the credential.
		b["credential"] = map[string]string{"type": "basic", "access_key": f.AccessKey, "access_secret": ""}
	}
	return b
}

func (u *UI) createRegistry(w http.ResponseWriter, r *http.Request, s *session) {
	f := registryFormOf(r.PostForm)
	if r.PostForm.Get("action") == "ping" {
		u.pingRegistry(w, r, s, f)
		return
	}
	if _, err := s.api.send(http.MethodPost, "/registries", f.body(nil), nil); err != nil {
		u.renderRegistries(w, r, s, formStatus(err), f, "", err)
		return
	}
	u.redirect(w, r, "/admin/registries", "reg.created", nil)
}

// pingRegistry tests the connection the new-registry form describes and
// shows the form again, filled in, with the outcome (no redirect: what
// was typed, the secret too, stays in the form).
func (u *UI) pingRegistry(w http.ResponseWriter, r *http.Request, s *session, f registryForm) {
	err := u.ping(s, f, nil)
	u.renderRegistries(w, r, s, 0, f, pingFlash(err), err)
}

// ping checks a registry: the stored one when the form changes neither
// its address nor its credential (the API uses the stored secret only at
// the stored address), else the one the form describes.
func (u *UI) ping(s *session, f registryForm, stored *registry) error {
	body := map[string]any{"url": f.URL, "insecure": f.Insecure}
	if stored != nil && f.Secret == "" && f.AccessKey == stored.AccessKey() && f.URL == stored.URL && f.Insecure == stored.Insecure {
		body = map[string]any{"id": stored.ID}
	} else if f.AccessKey != "" || f.Secret != "" {
		body["credential"] = map[string]string{"type": "basic", "access_key": f.AccessKey, "access_secret": f.Secret}
	}
	_, err := s.api.send(http.MethodPost, "/registries/ping", body, nil)
	return err
}

func pingFlash(err error) string {
	if err != nil {
		return ""
	}
	return "reg.pingok"
}

// registryOf reads the registry {id} names; on failure it has answered.
func (u *UI) registryOf(w http.ResponseWriter, r *http.Request, s *session) (*registry, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return nil, false
	}
	var reg registry
	if _, err := s.api.get("/registries/"+itoa(id), &reg); err != nil {
		u.failed(w, r, s, err)
		return nil, false
	}
	return &reg, true
}

func (u *UI) registryPage(w http.ResponseWriter, r *http.Request, s *session) {
	reg, ok := u.registryOf(w, r, s)
	if !ok {
		return
	}
	f := registryForm{ID: reg.ID, Type: reg.Type, Name: reg.Name, Description: reg.Description, URL: reg.URL,
		AccessKey: reg.AccessKey(), Insecure: reg.Insecure}
	u.render(w, r, 0, "registries", regView(s, "reg.edit", "", nil, registriesView{Registry: reg, Form: f, Types: registryTypes(s)}))
}

func (u *UI) updateRegistry(w http.ResponseWriter, r *http.Request, s *session) {
	reg, ok := u.registryOf(w, r, s)
	if !ok {
		return
	}
	f := registryFormOf(r.PostForm)
	if r.PostForm.Get("action") == "ping" {
		f.ID = reg.ID
		err := u.ping(s, f, reg)
		u.render(w, r, 0, "registries", regView(s, "reg.edit", pingFlash(err), err,
			registriesView{Registry: reg, Form: f, Types: registryTypes(s)}))
		return
	}
	if _, err := s.api.send(http.MethodPut, "/registries/"+itoa(reg.ID), f.body(reg), nil); err != nil {
		f.ID = reg.ID
		u.render(w, r, formStatus(err), "registries", regView(s, "reg.edit", "", err,
			registriesView{Registry: reg, Form: f, Types: registryTypes(s)}))
		return
	}
	u.redirect(w, r, "/admin/registries", "reg.updated", nil)
}

func (u *UI) deleteRegistry(w http.ResponseWriter, r *http.Request, s *session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		u.redirect(w, r, "/admin/registries", "", errorText("bad registry id"))
		return
	}
	if _, err := s.api.send(http.MethodDelete, "/registries/"+itoa(id), nil, nil); err != nil {
		u.redirect(w, r, "/admin/registries", "", err)
		return
	}
	u.redirect(w, r, "/admin/registries", "reg.deleted", nil)
}
