package ui

import (
	"net/http"
	"net/url"
)

// systemInfo is the part of /systeminfo the login page needs.
type systemInfo struct {
	AuthMode        string `json:"auth_mode"`
	PrimaryAuthMode bool   `json:"primary_auth_mode"`
	Version         string `json:"harbor_version"`
}

// loginView is the login page's data.
type loginView struct {
	Next     string
	Username string
	OIDC     bool // the server signs users in with an OIDC provider
	OIDCURL  string
	FirstRun bool // the initial admin password file still exists
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.renderLogin(w, r, 0, "", r.URL.Query().Get("next"), "")
}

func (u *UI) renderLogin(w http.ResponseWriter, r *http.Request, status int, username, next, errText string) {
	c := &client{api: u.api, from: r}
	var info systemInfo
	_, _ = c.get("/systeminfo", &info)
	next = u.localTarget(next)
	lv := loginView{Next: next, Username: username, OIDC: info.AuthMode == "oidc_auth",
		OIDCURL: "/c/oidc/login?redirect_url=" + url.QueryEscape(next), FirstRun: u.firstRun != nil && u.firstRun()}
	u.render(w, r, status, "login", &view{Title: "login.title", Error: errText, Data: lv})
}

// login posts the form to the session endpoint and hands its cookie to
// the browser.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	name, next := r.PostForm.Get("principal"), r.PostForm.Get("next")
	c := &client{api: u.api, from: r}
	a, err := c.do(http.MethodPost, "/c/login", url.Values{"principal": {name}, "password": {r.PostForm.Get("password")}})
	if err != nil {
		lang := language(r)
		msg := err.Error()
		switch statusOf(err) {
		case http.StatusUnauthorized:
			msg = u.cat.text(lang, "login.invalid")
		case http.StatusBadRequest:
			msg = u.cat.text(lang, "login.missing")
		}
		u.renderLogin(w, r, statusOf(err), name, next, msg)
		return
	}
	for _, c := range a.header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", c)
	}
	http.Redirect(w, r, u.localTarget(next), http.StatusSeeOther)
}

// logout ends the session.
func (u *UI) logout(w http.ResponseWriter, r *http.Request, s *session) {
	a, err := s.api.do(http.MethodPost, "/c/log_out", nil)
	if a != nil {
		for _, c := range a.header.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", c)
		}
	}
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	http.Redirect(w, r, u.base+"/login", http.StatusSeeOther)
}

// passwordPage changes the signed-in user's password.
func (u *UI) passwordPage(w http.ResponseWriter, r *http.Request, s *session) {
	u.render(w, r, 0, "password", &view{User: s.user, Title: "password.title"})
}

func (u *UI) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	oldPw, newPw := r.PostForm.Get("old_password"), r.PostForm.Get("new_password")
	if newPw != r.PostForm.Get("confirm_password") {
		u.redirect(w, r, "/account/password", "", errorText(u.cat.text(language(r), "password.mismatch")))
		return
	}
	_, err := s.api.send(http.MethodPut, "/users/"+itoa(s.user.UserID)+"/password",
		map[string]string{"old_password": oldPw, "new_password": newPw}, nil)
	if err != nil {
		u.redirect(w, r, "/account/password", "", err)
		return
	}
	u.redirect(w, r, "/projects", "password.changed", nil)
}

// setLanguage remembers the chosen language and goes back.
func (u *UI) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("lang")
	if !contains(languages[:], lang) {
		lang = languages[0]
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: u.base + "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, HttpOnly: true})
	http.Redirect(w, r, u.localTarget(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// errorText is a plain error with a message for the user.
type errorText string

func (e errorText) Error() string { return string(e) }
