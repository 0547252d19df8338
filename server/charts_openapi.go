package server

import (
	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/chart"
)

// chartAPIRoutes documents the chart repositories' operations in the
// management API's OpenAPI document (api does not import chart).
func chartAPIRoutes() []api.ExternalRoute {
	var out []api.ExternalRoute
	for _, r := range chart.Routes() {
		params := make([]api.ExternalParam, 0, len(r.Params))
		for _, p := range r.Params {
			params = append(params, api.ExternalParam{Name: p.Name, In: p.In, Type: p.Type, Description: p.Description})
		}
		out = append(out, api.ExternalRoute{Method: r.Method, Path: r.Path, ID: r.ID, Tag: chart.RouteTag,
			Summary: r.Summary, Params: params, BodyType: r.BodyType, BodyFiles: r.BodyFiles, Resp: r.Resp,
			RespType: r.RespType, Status: r.Status, Error: chart.ErrorBody{}})
	}
	return out
}
