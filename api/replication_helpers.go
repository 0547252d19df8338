package api

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
	"net/http"
	"strconv"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// The replication endpoints are for system administrators only, and most
// of them do one thing to the object named by {id}: these helpers hold
// what they share.

func (c *call) pathID(name string) (int64, error) {
	v := c.r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound(fmt.Sprintf("%s %q: want a positive number", name, v))
	}
	return id, nil
}

// nameFilter reads the name filter of a listing (name=, or q=name=…).
func nameFilter(c *call) (string, error) {
	terms, err := parseQ(c.r.URL.Query().Get("q"), "name")
	if err != nil {
		return "", err
	}
	name := c.r.URL.Query().Get("name")
	if t, ok := terms["name"]; ok {
		name = t.value
	}
	return name, nil
}

// adminID admits system administrators only, then reads the request's
// {id}.
func (c *call) adminID(act rbac.Action) (int64, error) {
	if err := c.configAdmin(act); err != nil {
		return 0, err
	}
	return c.pathID("id")
}

// replFetch admits system administrators only, then fetches the object of
// the request's {id} with get.
func replFetch[T any](c *call, act rbac.Action, get func(context.Context, int64) (*T, error)) (int64, *T, error) {
	id, err := c.adminID(act)
	if err != nil {
		return 0, nil, err
	}
	v, err := get(c.ctx(), id)
	if err != nil {
		return 0, nil, err
	}
	return id, v, nil
}

// replGet answers GET .../{id}: the object get finds, as toJSON shows it.
func replGet[T, J any](c *call, get func(context.Context, int64) (*T, error), toJSON func(*T) J) error {
	_, v, err := replFetch(c, rbac.ActionRead, get)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, toJSON(v))
}

// replDo answers a request that only names the object of {id} (delete,
// stop): 200 once do has done it.
func replDo(c *call, act rbac.Action, do func(context.Context, int64) error) error {
	id, err := c.adminID(act)
	if err != nil {
		return err
	}
	return c.a.okOr(c, do(c.ctx(), id))
}

// replCreate answers POST on collection: the body, a J, becomes what
// create stores by of; the answer is 201 with the new object's Location.
func replCreate[J, T any](c *call, collection string, of func(J) (T, error), create func(context.Context, T) (int64, error)) error {
	if err := c.configAdmin(rbac.ActionCreate); err != nil {
		return err
	}
	req, err := decodeAs[J](c)
	if err != nil {
		return err
	}
	v, err := of(req)
	if err != nil {
		return err
	}
	id, err := create(c.ctx(), v)
	if err != nil {
		return err
	}
	return c.created(BasePath+collection+"/"+strconv.FormatInt(id, 10), nil)
}

// replList answers a listing filtered by name: one page of what list
// finds, each as toJSON shows it.
func replList[T, J any](c *call, list func(ctx context.Context, name string, page core.Page) ([]T, int, error),
	fields map[string]sortField[T], toJSON func(*T) J) error {
	if err := c.configAdmin(rbac.ActionList); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	name, err := nameFilter(c)
	if err != nil {
		return err
	}
	items, total, err := listPage(c, pg, "", fields, func(p core.Page) ([]T, int, error) { return list(c.ctx(), name, p) })
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(items, toJSON))
}

// The fields replication listings sort by.
func endpointSort() map[string]sortField[replicate.Endpoint] {
	return map[string]sortField[replicate.Endpoint]{
		"id":            func(e *replicate.Endpoint) string { return sInt(e.ID) },
		"name":          func(e *replicate.Endpoint) string { return e.Name },
		"creation_time": func(e *replicate.Endpoint) string { return sTime(e.CreatedAt) },
		"update_time":   func(e *replicate.Endpoint) string { return sTime(e.UpdatedAt) },
	}
}

func replPolicySort() map[string]sortField[replicate.Policy] {
	return map[string]sortField[replicate.Policy]{
		"id":            func(p *replicate.Policy) string { return sInt(p.ID) },
		"name":          func(p *replicate.Policy) string { return p.Name },
		"creation_time": func(p *replicate.Policy) string { return sTime(p.CreatedAt) },
		"update_time":   func(p *replicate.Policy) string { return sTime(p.UpdatedAt) },
	}
}

func executionSort() map[string]sortField[replicate.Execution] {
	return map[string]sortField[replicate.Execution]{
		"id":         func(e *replicate.Execution) string { return sInt(e.ID) },
		"status":     func(e *replicate.Execution) string { return string(e.Status) },
		"start_time": func(e *replicate.Execution) string { return sTime(e.StartTime) },
		"end_time":   func(e *replicate.Execution) string { return sTime(e.EndTime) },
	}
}

func taskSort() map[string]sortField[replicate.Task] {
	return map[string]sortField[replicate.Task]{
		"id":         func(t *replicate.Task) string { return sInt(t.ID) },
		"status":     func(t *replicate.Task) string { return string(t.Status) },
		"start_time": func(t *replicate.Task) string { return sTime(t.StartTime) },
		"end_time":   func(t *replicate.Task) string { return sTime(t.EndTime) },
	}
}
