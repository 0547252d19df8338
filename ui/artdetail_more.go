package ui

import (
	"net/http"
	"net/url"
	"time"
)

// historyEntry is one step of an image's build history.
type historyEntry struct {
	Created    string `json:"created"`
	CreatedBy  string `json:"created_by"`
	Comment    string `json:"comment"`
	Author     string `json:"author"`
	EmptyLayer bool   `json:"empty_layer"`
}

func loadHistory(s *session, path string) ([]historyEntry, error) {
	var h []historyEntry
	_, err := s.api.get(path+"/additions/build_history", &h)
	return h, err
}

// chartView is a Helm chart's files: shown as text, never rendered.
type chartView struct {
	Readme       string
	HasReadme    bool
	Values       string
	Dependencies []struct{ Name, Version, Repository string }
}

func loadChart(s *session, path string) (*chartView, error) {
	c := &chartView{}
	a, err := s.api.get(path+"/additions/values.yaml", nil)
	if err != nil {
		return c, err
	}
	c.Values = a.body.String()
	if _, err := s.api.get(path+"/additions/dependencies", &c.Dependencies); err != nil {
		return c, err
	}
	switch a, err := s.api.get(path+"/additions/readme.md", nil); {
	case err == nil:
		c.Readme, c.HasReadme = a.body.String(), true
	case statusOf(err) != http.StatusNotFound: // 404: the chart has none
		return c, err
	}
	return c, nil
}

// accessoryNode is an accessory and its own accessories.
type accessoryNode struct {
	Digest       string    `json:"digest"`
	Type         string    `json:"type"`
	Size         int64     `json:"size"`
	CreationTime time.Time `json:"creation_time"`
	Children     []*accessoryNode
	More         int    // accessories beyond those listed
	Query        string // repo= and digest= of its own page
}

// TypeKey is the catalog key of the accessory's type.
func (n *accessoryNode) TypeKey() string {
	switch n.Type {
	case "signature.cosign":
		return "artd.acc.cosign"
	case "signature.notation":
		return "artd.acc.notation"
	case "harbor.sbom":
		return "artd.acc.sbom"
	}
	return "artd.acc.other"
}

// Bounds of the accessory tree: how deep it goes, how many of an
// artifact's accessories each level lists, and how many artifacts'
// accessories it reads in all (each is one API call).
const (
	accessoryDepth = 3
	accessoryWidth = 50
	accessoryCalls = 60
)

// loadAccessories reads the accessories of repo@dgst and, a few levels
// down, theirs: a signature of an SBOM shows under the SBOM.
func loadAccessories(s *session, p *project, repo, dgst string) ([]*accessoryNode, error) {
	budget := accessoryCalls
	return accessoryLevel(s, p, repo, dgst, accessoryDepth, &budget)
}

func accessoryLevel(s *session, p *project, repo, dgst string, depth int, budget *int) ([]*accessoryNode, error) {
	*budget--
	var nodes []*accessoryNode
	a, err := s.api.get(artifactPath(p, repo, dgst)+"/accessories?sort=-creation_time&page=1&page_size="+itoa(accessoryWidth), &nodes)
	if err != nil {
		return nil, err
	}
	if n := a.total(); n > len(nodes) && len(nodes) > 0 {
		nodes[len(nodes)-1].More = n - len(nodes)
	}
	for _, n := range nodes {
		n.Query = url.Values{"repo": {repo}, "digest": {n.Digest}}.Encode()
	}
	for _, n := range nodes {
		if depth <= 1 || *budget <= 0 {
			break
		}
		if n.Children, err = accessoryLevel(s, p, repo, n.Digest, depth-1, budget); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}
