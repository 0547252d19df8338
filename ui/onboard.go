package ui

import (
	"net/http"
	"strings"
)

// onboardView is the OIDC onboarding page: a user the provider
// authenticated, whose name is missing or taken here, chooses one.
type onboardView struct {
	Username string
	Redirect string
}

// onboardPage is where the OIDC callback sends a new user
// (auth/oidc.OnboardPage, with ?username=<suggestion>&redirect_url=).
func (u *UI) onboardPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	u.renderOnboard(w, r, 0, q.Get("username"), q.Get("redirect_url"), "")
}

func (u *UI) renderOnboard(w http.ResponseWriter, r *http.Request, status int, name, redirect, errText string) {
	u.render(w, r, status, "onboard", &view{Title: "users.onboardtitle", Error: errText,
		Data: onboardView{Username: name, Redirect: redirect}})
}

// onboard posts the chosen name to /c/oidc/onboard with the browser's
// cookies (the sealed onboarding cookie among them), hands the session
// cookie it answers to the browser and goes on to where the login
// started.
func (u *UI) onboard(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	name, redirect := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("redirect_url")
	c := &client{api: u.api, from: r}
	a, err := c.do(http.MethodPost, "/c/oidc/onboard", map[string]string{"username": name})
	if a != nil {
		for _, ck := range a.header.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", ck)
		}
	}
	if err != nil {
		u.renderOnboard(w, r, statusOf(err), name, redirect, err.Error())
		return
	}
	http.Redirect(w, r, u.localTarget(redirect), http.StatusSeeOther)
}
