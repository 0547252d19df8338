package upstream

import (
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
)

// The Distribution spec's grammar: checked before any request, so a name
// can never reach another path of the upstream.
var (
	repoPattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagPattern  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// repository checks repo and maps it to the upstream's name: under
// library/ for a one-component name on Docker Hub.
func (c *Client) repository(repo, what string) (string, error) {
	if len(repo) > 255 || !repoPattern.MatchString(repo) {
		return "", c.fail(core.ErrInvalid, what, "not a repository name")
	}
	if c.dockerHub && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	return repo, nil
}

// reference checks a tag or digest; want is the digest, "" for a tag.
func (c *Client) reference(ref, what string) (want digest.Digest, err error) {
	if strings.Contains(ref, ":") {
		return c.digest(ref, what)
	}
	if !tagPattern.MatchString(ref) {
		return "", c.fail(core.ErrInvalid, what, "not a tag or digest")
	}
	return "", nil
}

// digest checks a digest of an algorithm this client can verify.
func (c *Client) digest(s, what string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil || !d.Algorithm().Available() {
		return "", c.fail(core.ErrInvalid, what, "not a digest this client can verify")
	}
	return d, nil
}

// describe names a call for errors: "manifest library/nginx:latest".
func describe(kind, repo, ref string) string {
	if strings.Contains(ref, ":") {
		return kind + " " + repo + "@" + ref
	}
	return kind + " " + repo + ":" + ref
}

// named returns a name that is safe to print before it is validated.
func named(s string) string { return sanitize(s, 300) }
