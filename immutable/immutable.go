// Package immutable is Harbor's tag immutability: a project's rules (plain
// data) say which tags may not be moved or deleted once they exist, and
// pure functions decide, with Harbor's words for the refusal; a Store
// keeps each project's rules in SQL, and a Gate applies them to the
// registry's pushes and deletions (registry.PushGate, registry.DeleteGate).
//
//	rules := []immutable.Rule{{
//		ID:             1,
//		ScopeSelectors: []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}},
//		TagSelectors:   []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v*"}},
//	}}
//	if err := immutable.Validate(rules); err != nil { ... } // core.ErrInvalid
//	immutable.Check(rules, "library/app", "v1.2") // true, rules[0]
//	err := immutable.CheckPush(rules, "library/app", "v1.2", current, pushed)
//	// err: "the tag v1.2 configured as immutable, cannot be updated", a
//	// core.ErrPrecondition (412) when current is another digest.
//
// A rule holds a tag when it is enabled, its repository (scope) selectors
// pick the repository's name without its project, and its tag selectors
// pick the tag (see package tagselect). Harbor reads only the first
// selector of each list; here all of them must pick, which is the same
// for Harbor's rules, which hold one of each. A rule without a repository
// selector or a tag selector holds nothing (Harbor skips it; Validate
// refuses it).
//
// Immutability protects an existing tag: pushing a new tag is allowed
// whatever the rules, and so is pushing the manifest a tag already points
// at again (Harbor's tag controller agrees; its /v2/ push middleware
// refuses that too, with "Failed to process request due to 'app:v1.2'
// configured as immutable."). Moving the tag to another artifact, deleting
// the tag, and deleting an artifact that holds it are refused, with the
// messages Harbor's tag controller gives, each an *Error that matches
// ErrImmutable and core.ErrPrecondition.
package immutable

import (
	"errors"
	"fmt"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/tagselect"
)

// MaxRules is how many rules a project holds, as Harbor allows.
const MaxRules = 15

// Rule is one tag immutability rule of a project.
type Rule struct {
	// ID identifies the rule in its store; zero for none. IDs other than
	// zero are unique among a project's rules.
	ID       int64
	Disabled bool
	// TagSelectors pick the tags (tagselect.Matches or Excludes); at
	// least one. Untagged means nothing here.
	TagSelectors []tagselect.Selector
	// ScopeSelectors pick the repositories, by name without the project
	// (tagselect.RepoMatches or RepoExcludes); at least one.
	ScopeSelectors []tagselect.Selector
}

// Validate checks one rule: at least one valid selector of each kind.
func (r Rule) Validate() error {
	if len(r.ScopeSelectors) == 0 {
		return core.New(core.ErrInvalid, "no repository selector (repoMatches \"**\" is every repository)")
	}
	if len(r.TagSelectors) == 0 {
		return core.New(core.ErrInvalid, "no tag selector (matches \"**\" is every tag)")
	}
	if err := tagselect.ValidateRepository(r.ScopeSelectors); err != nil {
		return err
	}
	return tagselect.ValidateTag(r.TagSelectors)
}

// Validate checks a project's rules: at most MaxRules, each valid, IDs
// unique. It reports every problem, each wrapping core.ErrInvalid, joined.
func Validate(rules []Rule) error {
	var errs []error
	if len(rules) > MaxRules {
		errs = append(errs, core.New(core.ErrInvalid,
			fmt.Sprintf("immutable: %d rules: a project holds at most %d", len(rules), MaxRules)))
	}
	ids := make(map[int64]int, len(rules))
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("immutable: rule %d: %w", i+1, err))
		}
		if r.ID == 0 {
			continue
		}
		if first, ok := ids[r.ID]; ok {
			errs = append(errs, core.New(core.ErrInvalid,
				fmt.Sprintf("immutable: rule %d: id %d is rule %d's too", i+1, r.ID, first)))
			continue
		}
		ids[r.ID] = i + 1
	}
	return errors.Join(errs...)
}

// holds reports whether an enabled rule with both kinds of selectors
// picks the tag in the repository (name without project).
func (r Rule) holds(name, tag string) bool {
	return !r.Disabled && tag != "" && len(r.ScopeSelectors) > 0 && len(r.TagSelectors) > 0 &&
		tagselect.MatchRepository(r.ScopeSelectors, name) && tagselect.MatchTag(r.TagSelectors, tag)
}

// Check reports whether a tag of a repository (full name, "library/app")
// is immutable, and the first rule, in the order given, that makes it so.
// A repository name without a project part is matched whole, as Harbor
// does; a rule that does not validate holds nothing.
func Check(rules []Rule, repository, tag string) (immutable bool, rule Rule) {
	name, ok := tagselect.RepositoryName(repository)
	if !ok {
		name = repository
	}
	for _, r := range rules {
		if r.holds(name, tag) {
			return true, r
		}
	}
	return false, Rule{}
}

// CheckTags reports the first of tags, in the order given, that is
// immutable in the repository, and the rule that makes it so.
func CheckTags(rules []Rule, repository string, tags []string) (tag string, rule Rule, immutable bool) {
	for _, t := range tags {
		if ok, r := Check(rules, repository, t); ok {
			return t, r, true
		}
	}
	return "", Rule{}, false
}

// Operation is what a refusal refuses.
type Operation int

// Operations immutability refuses on an immutable tag.
const (
	// MoveTag points an existing tag at another artifact: a push of
	// another manifest to the tag, a copy or a retag onto it.
	MoveTag Operation = iota + 1
	// DeleteTag deletes the tag.
	DeleteTag
	// DeleteArtifact deletes an artifact the tag points at, with all its
	// tags.
	DeleteArtifact
)

func (o Operation) String() string {
	switch o {
	case MoveTag:
		return "move tag"
	case DeleteTag:
		return "delete tag"
	case DeleteArtifact:
		return "delete artifact"
	}
	return fmt.Sprintf("Operation(%d)", int(o))
}

// ErrImmutable is what every refusal matches: a precondition failed (412).
var ErrImmutable = core.New(core.ErrPrecondition, "tag is immutable")

// Error is a refusal: which operation, on which tag of which repository,
// and the rule that holds the tag. Its text is Harbor's.
type Error struct {
	Op         Operation
	Repository string
	Tag        string
	Rule       Rule
}

// Error is Harbor's message: "the tag v1 configured as immutable, cannot be
// updated" when moving it, "... cannot be deleted" when deleting it or an
// artifact holding it.
func (e *Error) Error() string {
	verb := "deleted"
	if e.Op == MoveTag {
		verb = "updated"
	}
	return fmt.Sprintf("the tag %s configured as immutable, cannot be %s", e.Tag, verb)
}

// Unwrap makes an Error match ErrImmutable and core.ErrPrecondition.
func (e *Error) Unwrap() error { return ErrImmutable }

// Refuse returns the refusal of op on an immutable tag: an *Error.
func Refuse(op Operation, repository, tag string, rule Rule) error {
	return &Error{Op: op, Repository: repository, Tag: tag, Rule: rule}
}

// CheckPush decides a push (or copy, or retag) of the manifest pushed to a
// tag that now points at current ("" when the tag does not exist yet):
// refused when the tag exists, points elsewhere and is immutable.
func CheckPush(rules []Rule, repository, tag, current, pushed string) error {
	if current == "" || current == pushed {
		return nil
	}
	if ok, r := Check(rules, repository, tag); ok {
		return Refuse(MoveTag, repository, tag, r)
	}
	return nil
}

// CheckDeleteTag decides the deletion of a tag: refused when it is
// immutable.
func CheckDeleteTag(rules []Rule, repository, tag string) error {
	if ok, r := Check(rules, repository, tag); ok {
		return Refuse(DeleteTag, repository, tag, r)
	}
	return nil
}

// CheckDeleteArtifact decides the deletion of an artifact holding tags:
// refused, naming the first immutable tag in the order given, when any is.
func CheckDeleteArtifact(rules []Rule, repository string, tags []string) error {
	if t, r, ok := CheckTags(rules, repository, tags); ok {
		return Refuse(DeleteArtifact, repository, t, r)
	}
	return nil
}
