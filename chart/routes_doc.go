package chart

// RouteDoc describes one operation of the Handler for an API document
// (the server hands them to package api, which does not import this one).
type RouteDoc struct {
	Method  string
	Path    string // from the server's root, with {wildcards}
	ID      string // operationId
	Summary string
	Params  []ParamDoc
	// BodyType is the request body's media type ("" for none); BodyFiles
	// the file fields of a multipart/form-data body.
	BodyType  string
	BodyFiles []string
	// Resp is a value of the JSON success body's type, or nil; RespType
	// the success body's media type when it is not JSON.
	Resp     any
	RespType string
	Status   int // 0 is 200
}

// ParamDoc documents a path ("path") or query ("query") parameter.
type ParamDoc struct {
	Name, In, Type, Description string
}

// ErrorBody is the shape of the Handler's errors (ChartMuseum's).
type ErrorBody struct {
	Error string `json:"error"`
}

// RouteTag is the tag the Handler's operations are documented under.
const RouteTag = "chartrepo"

// Routes describes the operations the Handler serves.
func Routes() []RouteDoc {
	repo := ParamDoc{"repo", "path", "string", "Project name"}
	name := ParamDoc{"name", "path", "string", "Chart name"}
	version := ParamDoc{"version", "path", "string", "Chart version"}
	const api = "/api/chartrepo/{repo}"
	return []RouteDoc{
		{Method: "GET", Path: "/chartrepo/{repo}/index.yaml", ID: "getChartRepoIndex", Params: []ParamDoc{repo},
			Summary: "The project's Helm repository index (helm repo add); ETag and If-None-Match", RespType: "application/x-yaml"},
		{Method: "GET", Path: "/chartrepo/{repo}/charts/{filename}", ID: "downloadChartFile",
			Params:  []ParamDoc{repo, {"filename", "path", "string", "<name>-<version>.tgz, or .tgz.prov for its provenance file"}},
			Summary: "Download a chart archive or its provenance file", RespType: "application/gzip"},
		{Method: "GET", Path: api + "/charts", ID: "listCharts", Params: []ParamDoc{repo},
			Summary: "Every chart of the project with its versions, newest first (ChartMuseum's shape)", Resp: map[string][]*Version{}},
		{Method: "POST", Path: api + "/charts", ID: "uploadChartVersion", Status: 201,
			Params:   []ParamDoc{repo, {"force", "query", "boolean", "Replace an existing version (409 otherwise)"}},
			Summary:  "Upload a chart archive and, optionally, its provenance file (as helm cm-push does; a raw .tgz body is taken too)",
			BodyType: "multipart/form-data", BodyFiles: []string{"chart", "prov"}, Resp: map[string]bool{}},
		{Method: "GET", Path: api + "/charts/{name}", ID: "listChartVersions", Params: []ParamDoc{repo, name},
			Summary: "The versions of one chart, newest first", Resp: []*Version{}},
		{Method: "GET", Path: api + "/charts/{name}/{version}", ID: "getChartVersion", Params: []ParamDoc{repo, name, version},
			Summary: "One chart version", Resp: &Version{}},
		{Method: "DELETE", Path: api + "/charts/{name}/{version}", ID: "deleteChartVersion", Params: []ParamDoc{repo, name, version},
			Summary: "Delete one chart version (its blobs go at the next garbage collection)", Resp: map[string]bool{}},
		{Method: "GET", Path: api + "/export", ID: "exportCharts", Params: []ParamDoc{repo},
			Summary: "Every chart version of the project, archives and provenance files, as one tar.gz bundle whose first entry, " +
				BundleManifestName + ", lists them with their digests (needs what reading charts needs)", RespType: "application/gzip"},
		{Method: "POST", Path: api + "/import", ID: "importCharts", Params: []ParamDoc{repo},
			Summary: "Import a bundle exportCharts wrote: nothing is stored unless every entry is named by the manifest, matches its digest " +
				"and is a valid chart; versions already stored with the same digest are skipped, another digest refuses the bundle (409); " +
				"needs what uploading needs",
			BodyType: "application/gzip", Resp: ImportResult{}},
	}
}
