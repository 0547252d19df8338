package oidc

import (
	"net/http"
	"net/url"
)

// logoutHandler ends the browser session, then sends the browser to the
// provider's end_session_endpoint when it has one, else to "/".
func (s *Service) logoutHandler(w http.ResponseWriter, r *http.Request) {
	if s.logout != nil {
		if err := s.logout(w, r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	target := "/"
	if d, err := s.provider(r.Context()); err == nil && d.endSession != "" {
		u, err := url.Parse(d.endSession)
		if err == nil {
			q := u.Query()
			q.Set("client_id", s.cfg.ClientID)
			if base, err := url.Parse(s.cfg.RedirectURL); err == nil {
				q.Set("post_logout_redirect_uri", base.Scheme+"://"+base.Host+"/")
			}
			u.RawQuery = q.Encode()
			target = u.String()
		}
	}
	http.Redirect(w, r, target, http.StatusFound)
}
