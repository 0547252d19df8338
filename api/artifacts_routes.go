package api

import "net/http"

// repositoryGroupRoutes are the repository and artifact operations beyond
// the core listing and deletes: every repository, repository updates, tag
// creation, copies, accessories, additions, a project's artifacts and the
// icons artifacts name.
func (a *API) repositoryGroupRoutes() []route {
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut
	qQuery := param{"q", "string", "Filter: comma-separated key=value terms; the operation's summary names the keys", false}
	qSort := param{"sort", "string", "Sort key, '-' first for descending; the operation's summary names the keys", false}
	qArtifact := []param{{"with_tag", "boolean", "Include the tags of each artifact (default true)", false},
		{"with_scan_overview", "boolean", "Include the latest vulnerability report's summary (default false)", false},
		{"with_sbom_overview", "boolean", "Include the latest SBOM generation (default false)", false},
		{"with_signature", "boolean", "Include the content trust verdict and verified signers; sets tags' signed (default false)", false},
		{"with_label", "boolean", "Include the labels attached to each artifact (default false)", false},
		{"with_immutable_status", "boolean", "Set tags' immutable from the project's immutability rules (default false)", false}}
	return []route{
		{method: get, path: "/repositories", id: "listAllRepositories", tag: "repository",
			summary: "List the repositories of every project the caller may see (q keys: name=value for a full name, name=~substring, name={a b} any of; sort: name, creation_time, update_time)",
			query:   append([]param{qQuery, qSort}, paging...), resp: []Repository{}, paged: true, handle: a.listAllRepositories},
		{method: put, path: pRepo, id: "updateRepository", tag: "repository", summary: "Change a repository's description",
			body: Repository{}, handle: a.updateRepository},
		{method: post, path: pRepo + "/artifacts", id: "CopyArtifact", tag: "artifact",
			summary: "Copy an artifact, with what it references, from another repository (needs pull there, push here; quotas and push gates apply)",
			query:   []param{{"from", "string", "The source: <project>/<repository>:<tag> (the copy gets the tag) or <project>/<repository>@<digest>", true}},
			status:  http.StatusCreated, handle: a.copyArtifact},
		{method: get, path: pRepo + "/tags", id: "listRepositoryTags", tag: "repository",
			summary: "berth: list every tag of a repository with the artifact it points at (" + repoTagListDoc + ")",
			query:   append([]param{qQuery, qSort}, paging...), resp: []RepositoryTag{}, paged: true, handle: a.listRepositoryTags},
		{method: post, path: pArt + "/tags", id: "createTag", tag: "artifact",
			summary: "Add a tag to an artifact (409 if the tag exists; needs push; immutability rules and push gates apply)",
			body:    Tag{}, status: http.StatusCreated, handle: a.createTag},
		{method: get, path: pArt + "/accessories", id: "listAccessories", tag: "artifact",
			summary: "List an artifact's accessories: OCI referrers and cosign's tag-scheme signatures, SBOMs and attestations (" + accessoryListDoc + ")",
			query:   append([]param{qQuery, sorting}, paging...), resp: []Accessory{}, paged: true, handle: a.listAccessories},
		{method: get, path: pArt + "/additions/{addition}", id: "getAddition", tag: "artifact",
			summary: "An addition of an artifact: build_history (images), values.yaml, readme.md, dependencies (charts), vulnerabilities",
			resp:    "", handle: a.getAddition},
		{method: get, path: pProject + "/artifacts", id: "listArtifactsOfProject", tag: "project",
			summary: "List the artifacts of every repository of a project, newest first unless sort says otherwise",
			query:   append(append([]param{artifactQ, sorting, latestParam}, qArtifact...), paging...), resp: []Artifact{}, paged: true, handle: a.listArtifactsOfProject},
		{method: get, path: "/icons/{digest}", id: "getIcon", tag: "icon", summary: "An icon, by the digest artifacts and accessories name",
			resp: Icon{}, handle: a.getIcon},
	}
}
