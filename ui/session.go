package ui

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// currentUser is the signed-in user, as /users/current answers.
type currentUser struct {
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Realname string `json:"realname"`
	Admin    bool   `json:"sysadmin_flag"`
	OIDC     *struct {
		Subject string `json:"subject"`
	} `json:"oidc_user_meta"`
}

// session is one page request of a signed-in user: who, and the API
// client acting as them.
type session struct {
	user *currentUser
	api  *client
}

// handler is a page that needs a signed-in user.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// signedIn wraps a page: it finds the user behind the request's session
// (sending anonymous browsers to the login page) and, for a form post,
// parses the form (the session middleware checked its CSRF token).
func (u *UI) signedIn(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &client{api: u.api, from: r, csrf: w.Header().Get(csrfHeader)}
		var me currentUser
		if _, err := c.get("/users/current", &me); err != nil {
			if statusOf(err) == http.StatusUnauthorized {
				u.toLogin(w, r)
				return
			}
			u.failed(w, r, nil, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "malformed form", http.StatusBadRequest)
				return
			}
			if c.csrf == "" || r.PostForm.Get(formToken) != c.csrf {
				// The middleware checks the token of live sessions; a
				// form that reached us without one is not ours.
				http.Error(w, "the form has expired: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		h(w, r, &session{user: &me, api: c})
	})
}

// formToken is the form field carrying the CSRF token (the session
// middleware's session.FormTokenField).
const formToken = "csrf_token"

// toLogin sends the browser to the login page, coming back here after.
func (u *UI) toLogin(w http.ResponseWriter, r *http.Request) {
	next := ""
	if r.Method == http.MethodGet {
		next = "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, u.base+"/login"+next, http.StatusSeeOther)
}

// localTarget is next when it is a path of the portal, else the
// projects page: a login link cannot send the user elsewhere.
func (u *UI) localTarget(next string) string {
	if next == "" || !strings.HasPrefix(next, u.base+"/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, u.base+"//") || strings.ContainsFunc(next, unsafeInTarget) {
		return u.base + "/projects"
	}
	return next
}

// unsafeInTarget are the characters a redirect target may not hold:
// browsers drop tabs and newlines and read a backslash as a slash, so
// "/\t/evil.example" would leave the site.
func unsafeInTarget(r rune) bool {
	return r == '\\' || r < 0x20 || r == 0x7f || unicode.IsSpace(r)
}

// flashCookie carries a message to the page after a redirect: "k:" and a
// catalog key, or "e:" and an error's text.
const flashCookie = "berth-flash"

func setFlash(w http.ResponseWriter, r *http.Request, base, kind, msg string) {
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + msg)),
		Path: base + "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: 60})
}

// takeFlash reads and clears the message; flash is a catalog key, errText
// an error's text.
func takeFlash(w http.ResponseWriter, r *http.Request, base string) (flash, errText string) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: base + "/", MaxAge: -1, HttpOnly: true})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return "", ""
	}
	kind, msg, _ := strings.Cut(string(b), ":")
	if kind == "e" {
		return "", msg
	}
	return msg, ""
}
