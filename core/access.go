package core

import "regexp"

// Actions a request may need on a resource; the names of the distribution
// token specification.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	ActionAll    = "*"
)

// Resource types of the token specification.
const (
	ResourceRepository = "repository"
	ResourceRegistry   = "registry"
)

// Access is one resource a request needs and the actions on it, in the
// shape of a token scope ("repository:library/nginx:pull,push").
type Access struct {
	Type    string // ResourceRepository or ResourceRegistry
	Name    string // repository name, or "catalog"
	Actions []string
}

// MaxNameLength bounds repository names; clients limit host + "/" + name
// to 255 characters, so a longer name could never be pulled.
const MaxNameLength = 255

var nameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// ValidRepository reports whether name is a valid repository name per the
// distribution spec (lower-case components separated by '/').
func ValidRepository(name string) bool {
	return len(name) <= MaxNameLength && nameRE.MatchString(name)
}
