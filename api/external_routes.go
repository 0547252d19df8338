package api

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// ExternalRoute documents, in the served OpenAPI document, an operation
// that another handler of the same server serves outside BasePath, such
// as the classic chart repositories under /api/chartrepo/ and
// /chartrepo/. The API does not serve it; the document gives the
// operation a server of its own ("/"), so clients resolve Path from the
// server's root.
type ExternalRoute struct {
	Method  string
	Path    string // from the server's root, with {wildcards}
	ID      string // operationId
	Tag     string
	Summary string
	Params  []ExternalParam // path parameters' descriptions and query parameters
	// BodyType is the request body's media type ("" for none); BodyFiles
	// the file fields of a multipart/form-data body. Other bodies are
	// documented as binary.
	BodyType  string
	BodyFiles []string
	// Resp is a value of the JSON success body's type, or nil; RespType
	// the success body's media type when it is not JSON.
	Resp     any
	RespType string
	Status   int // 0 is 200
	// Error is a value of the error body's type; nil is Harbor's Errors.
	Error any
}

// ExternalParam documents a path ("path") or query ("query", the
// default) parameter of an ExternalRoute.
type ExternalParam struct {
	Name, In, Type, Description string
	Required                    bool
}

// WithExternalRoutes adds operations other handlers of the server serve
// to the OpenAPI document.
func WithExternalRoutes(rs ...ExternalRoute) Option {
	return func(c *config) { c.external = append(c.external, rs...) }
}

// externalPaths adds the external routes to paths.
func (a *API) externalPaths(paths map[string]map[string]any, s *schemas, errRef map[string]any) {
	for _, rt := range a.cfg.external {
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = externalOperation(rt, s, errRef)
	}
}

func externalOperation(rt ExternalRoute, s *schemas, errRef map[string]any) map[string]any {
	param := func(name, in string) map[string]any {
		p := map[string]any{"name": name, "in": in, "required": in == "path", "schema": map[string]any{"type": "string"}}
		for _, ep := range rt.Params {
			if ep.Name == name && (ep.In == in || (ep.In == "" && in == "query")) {
				p["description"], p["required"] = ep.Description, ep.Required || in == "path"
				if ep.Type != "" {
					p["schema"] = map[string]any{"type": ep.Type}
				}
			}
		}
		return p
	}
	var params []any
	for _, seg := range strings.Split(rt.Path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			params = append(params, param(strings.TrimSuffix(name, "}"), "path"))
		}
	}
	for _, ep := range rt.Params {
		if ep.In != "path" {
			params = append(params, param(ep.Name, "query"))
		}
	}
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	binary := map[string]any{"type": "string", "format": "binary"}
	switch {
	case rt.RespType != "":
		ok["content"] = map[string]any{rt.RespType: map[string]any{"schema": binary}}
	case rt.Resp != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": s.of(reflect.TypeOf(rt.Resp))}}
	}
	errSchema := errRef
	if rt.Error != nil {
		errSchema = s.of(reflect.TypeOf(rt.Error))
	}
	op := map[string]any{
		"servers":     []any{map[string]any{"url": "/"}},
		"operationId": rt.ID,
		"summary":     rt.Summary,
		"tags":        []any{rt.Tag},
		"responses": map[string]any{
			strconv.Itoa(status): ok,
			"default": map[string]any{"description": "An error: 400, 401, 403, 404, 409, 413, 415 or 500",
				"content": map[string]any{"application/json": map[string]any{"schema": errSchema}}},
		},
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.BodyType != "" {
		schema := binary
		if len(rt.BodyFiles) > 0 {
			props := map[string]any{}
			for _, f := range rt.BodyFiles {
				props[f] = binary
			}
			schema = map[string]any{"type": "object", "properties": props}
		}
		op["requestBody"] = map[string]any{"required": true,
			"content": map[string]any{rt.BodyType: map[string]any{"schema": schema}}}
	}
	return op
}
