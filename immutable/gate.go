package immutable

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/registry"
)

// RuleSource gives a project's rules; *Store implements it.
type RuleSource interface {
	Rules(ctx context.Context, projectID int64) ([]Rule, error)
}

// Projects resolves a project name to its immutable id; ok is false when
// there is no such project. *project.Store implements it.
type Projects interface {
	ProjectID(ctx context.Context, name string) (id int64, ok bool, err error)
}

// Artifacts finds what a tag points at now; *registry.Registry implements
// it. An error matching core.ErrNotFound means the tag does not exist.
type Artifacts interface {
	GetArtifact(ctx context.Context, repo, ref string) (*registry.Artifact, error)
}

// Gate enforces a project's immutability rules in the registry: it is
// both a registry.PushGate and a registry.DeleteGate. The rules of a
// repository are those of its project, the first component of its name;
// a repository of no known project has none.
//
// A push is refused when it would move an existing immutable tag to
// another manifest; pushing a new tag, or the manifest a tag points at
// already, passes. A deletion is refused when it would delete an
// immutable tag: the tag itself, or the artifact holding it (and so a
// repository holding one). Refusals are registry.Denied errors (412
// DENIED) with Harbor's message, which also match ErrImmutable.
//
// The check and the push it lets through are not one transaction: two
// pushes of the same new tag racing each other both pass.
type Gate struct {
	rules     RuleSource
	projects  Projects
	artifacts Artifacts
}

// NewGate returns a Gate over the stored rules, the project names and the
// registry's artifacts.
func NewGate(rules RuleSource, projects Projects, artifacts Artifacts) *Gate {
	return &Gate{rules: rules, projects: projects, artifacts: artifacts}
}

// rulesOf returns the rules of the repository's project; none for a
// repository of no project.
func (g *Gate) rulesOf(ctx context.Context, repo string) ([]Rule, error) {
	name, _, ok := strings.Cut(repo, "/")
	if !ok || name == "" {
		return nil, nil
	}
	id, ok, err := g.projects.ProjectID(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("immutable: resolving project %q: %w", name, err)
	}
	if !ok {
		return nil, nil
	}
	rules, err := g.rules.Rules(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("immutable: reading the rules of project %q: %w", name, err)
	}
	return rules, nil
}

func anyEnabled(rules []Rule) bool {
	for _, r := range rules {
		if !r.Disabled {
			return true
		}
	}
	return false
}

// CheckPush refuses a push that would move an existing immutable tag of
// t.Repository to another manifest than t.Digest.
func (g *Gate) CheckPush(ctx context.Context, t registry.Target, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rules, err := g.rulesOf(ctx, t.Repository)
	if err != nil || !anyEnabled(rules) {
		return err
	}
	for _, tag := range tags {
		if held, _ := Check(rules, t.Repository, tag); !held {
			continue
		}
		cur, err := g.artifacts.GetArtifact(ctx, t.Repository, tag)
		if errors.Is(err, core.ErrNotFound) {
			continue // a new tag
		}
		if err != nil {
			return fmt.Errorf("immutable: reading tag %s:%s: %w", t.Repository, tag, err)
		}
		if err := CheckPush(rules, t.Repository, tag, cur.Digest.String(), t.Digest.String()); err != nil {
			return denied(err)
		}
	}
	return nil
}

// CheckDelete refuses deleting an immutable tag, or an artifact (digest
// d) holding one; tags are the tags the deletion would remove.
func (g *Gate) CheckDelete(ctx context.Context, repo string, _ digest.Digest, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rules, err := g.rulesOf(ctx, repo)
	if err != nil || !anyEnabled(rules) {
		return err
	}
	op := DeleteArtifact
	if len(tags) == 1 {
		op = DeleteTag // the registry names one tag for a tag's deletion; the message is the same
	}
	if t, r, ok := CheckTags(rules, repo, tags); ok {
		return denied(Refuse(op, repo, t, r))
	}
	return nil
}

// refusal is a Gate's refusal: a registry.Denied error (412 DENIED, with
// Harbor's message) that also matches the *Error it reports, so
// errors.Is(err, ErrImmutable) and errors.As(err, **Error) hold.
type refusal struct {
	denied *registry.Error
	cause  error
}

func denied(cause error) error {
	return &refusal{denied: registry.Denied(cause.Error()), cause: cause}
}

func (r *refusal) Error() string { return r.denied.Error() }

// Unwrap gives the registry's error and the immutability refusal.
func (r *refusal) Unwrap() []error { return []error{r.denied, r.cause} }
