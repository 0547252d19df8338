package ui

import (
	"net/http"
	"strings"
)

// user is a user as /users lists it.
type user struct {
	UserID       int64  `json:"user_id"`
	Username     string `json:"username"`
	Email        string `json:"email"`
	Realname     string `json:"realname"`
	Admin        bool   `json:"sysadmin_flag"`
	Source       string `json:"source"`
	CreationTime string `json:"creation_time"`
}

type usersView struct {
	List  *listQuery
	Users []user
	Me    int64 // the signed-in user, who cannot demote or delete itself here
}

// usersPage lists users (the API lets only system admins: others see
// its 403).
func (u *UI) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := parseList(r, "username", "email", "creation_time")
	q := l.apiParams()
	if t := qText(l.Search); t != "" {
		q.Set("q", "username=~"+t)
	}
	v := usersView{List: l, Me: s.user.UserID}
	a, err := s.api.get("/users?"+q.Encode(), &v.Users)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "users", adminView(s, "users", "users.title", v))
}

// createUser creates a local user from the form.
func (u *UI) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	if f.Get("password") != f.Get("confirm_password") {
		u.redirect(w, r, "/admin/users", "", errorText(u.cat.text(language(r), "users.mismatch")))
		return
	}
	req := map[string]string{"username": strings.TrimSpace(f.Get("username")), "email": strings.TrimSpace(f.Get("email")),
		"realname": strings.TrimSpace(f.Get("realname")), "password": f.Get("password"), "comment": strings.TrimSpace(f.Get("comment"))}
	if _, err := s.api.send(http.MethodPost, "/users", req, nil); err != nil {
		u.redirect(w, r, "/admin/users", "", err)
		return
	}
	u.redirect(w, r, "/admin/users", "users.createdok", nil)
}

// userAction grants or revokes system admin, sets a password, or
// deletes the user {uid}.
func (u *UI) userAction(w http.ResponseWriter, r *http.Request, s *session) {
	uid, ok := u.pathID(w, r, s, "uid")
	if !ok {
		return
	}
	path := "/users/" + uid
	var err error
	flash := ""
	switch r.PathValue("action") {
	case "admin", "unadmin":
		grant := r.PathValue("action") == "admin"
		_, err = s.api.send(http.MethodPut, path+"/sysadmin", map[string]bool{"sysadmin_flag": grant}, nil)
		flash = map[bool]string{true: "users.granted", false: "users.revoked"}[grant]
	case "password":
		pw := r.PostForm.Get("new_password")
		if pw != r.PostForm.Get("confirm_password") {
			err = errorText(u.cat.text(language(r), "users.mismatch"))
			break
		}
		_, err = s.api.send(http.MethodPut, path+"/password", map[string]string{"new_password": pw}, nil)
		flash = "users.passwordset"
	case "delete":
		_, err = s.api.send(http.MethodDelete, path, nil, nil)
		flash = "users.deleted"
	default:
		u.notFound(w, r, s)
		return
	}
	u.redirect(w, r, "/admin/users", flash, err)
}
