package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// openAPI renders the OpenAPI 3 document of the route table.
func (a *API) openAPI() ([]byte, error) {
	s := &schemas{defs: map[string]any{}}
	errRef := s.of(reflect.TypeFor[Errors]())
	paths := map[string]map[string]any{}
	for _, rt := range a.routes {
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = a.operation(rt, s, errRef)
	}
	a.externalPaths(paths, s, errRef)
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "berth management API",
			"version": a.cfg.version,
			"description": "Harbor-shaped management API of a berth registry: projects, members, users, robots, " +
				"repositories, artifacts and the audit log. Errors are {\"errors\":[{\"code\",\"message\"}]}; " +
				"listings take page and page_size and answer X-Total-Count and Link headers. Request bodies must be sent as " +
				"application/json (415 otherwise). POST, PUT, PATCH and DELETE requests that a browser marks as coming from " +
				"another site (an Origin that is not the server's own or an allowed one, or Sec-Fetch-Site: cross-site) are " +
				"refused with 403; clients that send neither header are not affected.",
		},
		"servers":  []any{map[string]any{"url": BasePath}},
		"security": []any{map[string]any{"basic": []any{}}, map[string]any{}},
		"paths":    paths,
		"components": map[string]any{
			"schemas":         s.defs,
			"securitySchemes": map[string]any{"basic": map[string]any{"type": "http", "scheme": "basic"}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func (a *API) operation(rt route, s *schemas, errRef map[string]any) map[string]any {
	var params []any
	for _, seg := range strings.Split(rt.path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			params = append(params, map[string]any{"name": name, "in": "path", "required": true,
				"description": pathParamDoc(name), "schema": map[string]any{"type": "string"}})
		}
	}
	for _, p := range rt.query {
		params = append(params, map[string]any{"name": p.name, "in": "query", "required": p.required,
			"description": p.desc, "schema": map[string]any{"type": p.typ}})
	}
	status := rt.status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	switch {
	case rt.text:
		ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
	case rt.resp != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": s.of(reflect.TypeOf(rt.resp))}}
	}
	headers := map[string]any{}
	if rt.paged {
		headers["X-Total-Count"] = map[string]any{"description": "How many items match in all", "schema": map[string]any{"type": "integer"}}
		headers["Link"] = map[string]any{"description": `RFC 5988 links to the previous and next pages (rel="prev", rel="next")`,
			"schema": map[string]any{"type": "string"}}
	}
	if status == http.StatusCreated {
		headers["Location"] = map[string]any{"description": "The new resource", "schema": map[string]any{"type": "string"}}
	}
	if len(headers) > 0 {
		ok["headers"] = headers
	}
	op := map[string]any{
		"operationId": rt.id,
		"summary":     rt.summary,
		"tags":        []any{rt.tag},
		"responses": map[string]any{
			strconv.Itoa(status): ok,
			"default": map[string]any{"description": errorsDoc(rt),
				"content": map[string]any{"application/json": map[string]any{"schema": errRef}}},
		},
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.body != nil {
		op["requestBody"] = map[string]any{"required": rt.method != http.MethodPatch,
			"content": map[string]any{"application/json": map[string]any{"schema": s.of(reflect.TypeOf(rt.body))}}}
	}
	return op
}

// errorsDoc lists the error statuses an operation may answer.
func errorsDoc(rt route) string {
	statuses := "400, 401, 403, 404, 409, 412"
	if rt.body != nil {
		statuses += ", 413, 415" // too large; not application/json
	}
	doc := "An error: " + statuses + " or 500"
	if rt.method != http.MethodGet && rt.method != http.MethodHead {
		doc += "; 403 also refuses cross-site browser requests"
	}
	return doc
}
