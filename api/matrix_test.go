package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAuthorizationMatrix checks, over HTTP, what each role may do through
// the API in a public project ("pub") and a private one ("priv"). A cell
// reads "<pub><priv>": Y allowed, - denied (401 for anonymous callers, 403
// for the others).
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	roles := []string{"anonymous", "outsider", "limited-guest", "guest", "developer", "maintainer", "project-admin", "system-admin"}
	projects := []string{"pub", "priv"}
	e.user("outsider", "limited-guest", "guest", "developer", "maintainer", "project-admin")
	members := []string{"limited-guest=limited-guest", "guest=guest", "developer=developer", "maintainer=maintainer",
		"project-admin=project-admin"}
	e.project("pub", true, members...)
	e.project("priv", false, members...)
	for _, p := range projects {
		e.push(p+"/app", "keep")
		for _, role := range roles {
			e.push(p+"/app", role)
		}
	}
	who := func(role string) cred {
		switch role {
		case "anonymous":
			return anonymous
		case "system-admin":
			return admin()
		}
		return as(role)
	}

	type request struct {
		method, path string
		body         any
		status       int // when allowed
	}
	matrix := []struct {
		action string
		req    func(role, proj string) request
		want   map[string]string
	}{
		{"repository list", func(_, p string) request {
			return request{http.MethodGet, "/projects/" + p + "/repositories", nil, 200}
		}, map[string]string{"anonymous": "Y-", "outsider": "Y-", "limited-guest": "YY", "guest": "YY",
			"developer": "YY", "maintainer": "YY", "project-admin": "YY", "system-admin": "YY"}},
		{"member list", func(_, p string) request {
			return request{http.MethodGet, "/projects/" + p + "/members", nil, 200}
		}, map[string]string{"anonymous": "--", "outsider": "--", "limited-guest": "--", "guest": "YY",
			"developer": "YY", "maintainer": "YY", "project-admin": "YY", "system-admin": "YY"}},
		{"member add", func(role, p string) request {
			return request{http.MethodPost, "/projects/" + p + "/members", map[string]any{"role_id": 3,
				"member_group": map[string]string{"group_name": "g-" + role}}, 201}
		}, map[string]string{"anonymous": "--", "outsider": "--", "limited-guest": "--", "guest": "--",
			"developer": "--", "maintainer": "--", "project-admin": "YY", "system-admin": "YY"}},
		{"robot create", func(role, p string) request {
			return request{http.MethodPost, "/robots", robotBody("r-"+role, p, 1, "repository:pull"), 201}
		}, map[string]string{"anonymous": "--", "outsider": "--", "limited-guest": "--", "guest": "--",
			"developer": "--", "maintainer": "--", "project-admin": "YY", "system-admin": "YY"}},
		{"artifact delete", func(role, p string) request {
			return request{http.MethodDelete, "/projects/" + p + "/repositories/app/artifacts/" + role, nil, 200}
		}, map[string]string{"anonymous": "--", "outsider": "--", "limited-guest": "--", "guest": "--",
			"developer": "--", "maintainer": "YY", "project-admin": "YY", "system-admin": "YY"}},
		// Allowed callers get past RBAC to the emptiness check: 412.
		{"project delete", func(_, p string) request {
			return request{http.MethodDelete, "/projects/" + p, nil, 412}
		}, map[string]string{"anonymous": "--", "outsider": "--", "limited-guest": "--", "guest": "--",
			"developer": "--", "maintainer": "--", "project-admin": "YY", "system-admin": "YY"}},
	}
	for _, row := range matrix {
		for _, role := range roles {
			for i, p := range projects {
				t.Run(row.action+"/"+role+"/"+p, func(t *testing.T) {
					allowed := row.want[role][i] == 'Y'
					req := row.req(role, p)
					r := e.do(who(role), req.method, req.path, req.body)
					switch {
					case allowed:
						assert.Equal(t, req.status, r.Status, "%s", r.Body)
					case role == "anonymous":
						assert.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Body)
					default:
						assert.Equal(t, http.StatusForbidden, r.Status, "%s", r.Body)
						assert.True(t, strings.Contains(string(r.Body), "denied: "), "the reason is RBAC's: %s", r.Body)
					}
				})
			}
		}
	}
}
