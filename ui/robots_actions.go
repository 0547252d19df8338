package ui

import (
	"net/http"
)

// robotAction enables, disables, refreshes the secret of, or deletes the
// robot {rid} (the API checks the caller may act on it).
func (u *UI) robotAction(w http.ResponseWriter, r *http.Request, s *session) {
	sc, ok := u.scopeOf(w, r, s)
	if !ok {
		return
	}
	rid, ok := u.pathID(w, r, s, "rid")
	if !ok {
		return
	}
	path := "/robots/" + rid
	var err error
	flash := ""
	switch r.PathValue("action") {
	case "enable", "disable":
		disable := r.PathValue("action") == "disable"
		_, err = s.api.send(http.MethodPut, path, map[string]bool{"disable": disable}, nil)
		flash = map[bool]string{true: "robot.disabled", false: "robot.enabled"}[disable]
	case "refresh":
		var sec struct {
			Secret string `json:"secret"`
		}
		if _, err = s.api.send(http.MethodPatch, path, map[string]string{}, &sec); err == nil {
			var rb robot
			_, _ = s.api.get(path, &rb)
			u.showSecret(w, r, s, sc, "robot.refreshedok", rb.Name, sec.Secret)
			return
		}
	case "delete":
		_, err = s.api.send(http.MethodDelete, path, nil, nil)
		flash = "robot.deleted"
	default:
		u.notFound(w, r, s)
		return
	}
	u.redirect(w, r, sc.prefix, flash, err)
}
