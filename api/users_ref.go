package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/rbac"
)

// headerResourceName, set to "true", says a path value made of digits is
// a name, not an ID (Harbor's X-Is-Resource-Name).
const headerResourceName = "X-Is-Resource-Name"

// pathID reads a path value as Harbor's numeric ID: all digits, unless
// the request says it is a name. ok is false for a name; id is 0 for
// digits too many to be an ID.
func pathID(r *http.Request, v string) (id int64, ok bool) {
	if v == "" || strings.Trim(v, "0123456789") != "" || strings.EqualFold(r.Header.Get(headerResourceName), "true") {
		return 0, false
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, true
	}
	return id, true
}

// userName resolves the request's {username}, a name or a user_id, to the
// user's canonical name. An unknown ID is 404 for system admins and the
// usual denial for anyone else, so that IDs do not tell who exists.
func (c *call) userName() (string, error) {
	v := c.r.PathValue("username")
	id, byID := pathID(c.r, v)
	if !byID {
		return auth.CanonicalUserName(v), nil
	}
	u, err := c.a.deps.Users.GetByID(c.ctx(), id)
	if err == nil {
		return u.Name, nil
	}
	if !errors.Is(err, auth.ErrNotFound) {
		return "", err
	}
	if err := c.requireAdmin(permUser(rbac.ActionRead)); err != nil {
		return "", err
	}
	return "", notFound(fmt.Sprintf("user %s does not exist", v))
}

// robotRef resolves the request's {robot_name}, a full robot name or a
// robot ID, to the robot's full name. An unknown ID is 404 for system
// admins and the usual denial for anyone else.
func (c *call) robotRef() (string, error) {
	v := c.r.PathValue("robot_name")
	id, byID := pathID(c.r, v)
	if !byID {
		return v, nil
	}
	r, err := c.a.deps.Robots.GetByID(c.ctx(), id)
	if err == nil {
		return r.Name, nil
	}
	if !errors.Is(err, auth.ErrNotFound) {
		return "", err
	}
	if err := c.requireAdmin(permOn(rbac.ResourceRobot, rbac.ActionRead)); err != nil {
		return "", err
	}
	return "", notFound(fmt.Sprintf("robot %s does not exist", v))
}
