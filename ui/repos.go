package ui

import (
	"net/http"
	"strings"
)

// A repository's pages live at /projects/{id}/repositories/{repo...}:
// {repo...} is the repository's name WITHOUT the project's, slashes
// kept as they are ("/projects/3/repositories/team/app" is the
// repository "<project 3>/team/app"). Repository names are lower-case
// letters, digits and separators, so the path needs no escaping; the API
// wants the same name with its slashes escaped twice (repoPath).
// GET shows its artifacts (?view=tags: its tags); POST runs an operation
// named by the form's op field (see repoPost).

// repository is a repository as the API lists it.
type repository struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	ArtifactCount int    `json:"artifact_count"`
	PullCount     int    `json:"pull_count"`
	UpdateTime    string `json:"update_time"`
	CreationTime  string `json:"creation_time"`
}

// Short is the name without the project's.
func (r repository) Short() string {
	_, rest, _ := strings.Cut(r.Name, "/")
	return rest
}

type reposView struct {
	Project *project
	List    *listQuery
	Repos   []repository
}

// reposPage lists a project's repositories, filtered, sorted and paged
// by the API.
func (u *UI) reposPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	l := parseList(r, "name", "update_time", "creation_time")
	q := l.apiParams()
	if l.Search != "" {
		q.Set("q", "name=~"+l.Search)
	}
	v := reposView{Project: p, List: l}
	a, err := s.api.get("/projects/"+esc(p.Name)+"/repositories?"+q.Encode(), &v.Repos)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "repos", projectView(s, p, "repositories", "repo.title", v))
}

// repoPost runs the operation a repository page's form names in op: a
// batch operation on the checked artifacts, or deleting the repository.
func (u *UI) repoPost(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	rel := strings.Trim(r.PathValue("repo"), "/")
	if r.PostForm.Get("op") == "delete-repository" {
		back := "/projects/" + itoa(p.ProjectID) + "/repositories"
		if _, err := s.api.send(http.MethodDelete, "/projects/"+esc(p.Name)+"/repositories/"+repoPath(rel), nil, nil); err != nil {
			u.redirect(w, r, back, "", err)
			return
		}
		u.redirect(w, r, back, "repo.deleted", nil)
		return
	}
	u.artifactsBatch(w, r, s, p, rel)
}

// repoURL is the portal path of a repository's page.
func repoURL(p *project, rel string) string {
	return "/projects/" + itoa(p.ProjectID) + "/repositories/" + rel
}
