package retention

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/tagselect"
)

// Rule templates, Harbor's ids (src/pkg/retention/policy/rule/*). Each
// retains; what a rule does not retain, no other rule retaining it, is
// deleted. The parameter of a template is named like the template.
const (
	LatestPushedK      = "latestPushedK"      // the K most recently pushed (latestps)
	LatestPulledN      = "latestPulledN"      // the N most recently pulled (latestpl)
	LatestActiveK      = "latestActiveK"      // the K most recently pushed or pulled (latestk)
	NDaysSinceLastPush = "nDaysSinceLastPush" // pushed within the last N days (daysps)
	NDaysSinceLastPull = "nDaysSinceLastPull" // pulled within the last N days (dayspl)
	LastXDays          = "lastXDays"          // pushed within the last X days, strictly (lastx)
	Always             = "always"             // every artifact its selectors pick (always)
)

// AlgorithmOR is the only algorithm, Harbor's: an artifact is retained when
// any rule retains it.
const AlgorithmOR = "or"

// Limits, Harbor's: 15 rules a policy; a count below math.MaxInt16; a
// number of days up to 20190904 (Harbor's own bound).
const (
	MaxRules = 15
	MaxCount = math.MaxInt16 - 1
	MaxDays  = 20190904
)

// Template describes one rule template: its id, the name of its parameter
// ("" for none) and the parameter's unit ("count" or "days"), as Harbor's
// retention metadata lists them for a user interface.
type Template struct {
	ID    string
	Param string
	Unit  string
}

// Templates lists the rule templates. ("nothing" is not one of them:
// Harbor defines it but does not register it, so its API refuses it.)
func Templates() []Template {
	return []Template{
		{LatestPushedK, LatestPushedK, "count"},
		{LatestPulledN, LatestPulledN, "count"},
		{LatestActiveK, LatestActiveK, "count"},
		{NDaysSinceLastPush, NDaysSinceLastPush, "days"},
		{NDaysSinceLastPull, NDaysSinceLastPull, "days"},
		{LastXDays, LastXDays, "days"},
		{Always, "", ""},
	}
}

func template(id string) (Template, bool) {
	for _, t := range Templates() {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

// Policy is a project's tag retention policy.
type Policy struct {
	// Algorithm is AlgorithmOR; empty means the same.
	Algorithm string
	// Rules, at most MaxRules; disabled ones count.
	Rules []Rule
}

// Rule is one retention rule.
type Rule struct {
	// Disabled rules are validated but take no part in an evaluation.
	Disabled bool
	// Template is one of the template ids (LatestPushedK, ...).
	Template string
	// Params holds the template's parameter, named like the template:
	// {"latestPushedK": 10}. Other keys are ignored, as Harbor does.
	Params map[string]int
	// TagSelectors pick, in each repository in scope, the artifacts the
	// template ranks or filters (tagselect.Matches or Excludes, each must
	// pick an artifact); none pick every artifact, tagged or not.
	TagSelectors []tagselect.Selector
	// ScopeSelectors pick the repositories the rule applies to
	// (tagselect.RepoMatches or RepoExcludes on the name without the
	// project, each must pick it); none pick every repository.
	ScopeSelectors []tagselect.Selector
}

// Param is the value of the template's parameter (0 for Always).
func (r Rule) Param() int { return r.Params[r.Template] }

// Validate checks a policy: the algorithm, the number of rules, and each
// rule's template, parameter and selectors. It reports every problem
// found, each wrapping core.ErrInvalid, joined.
func Validate(p Policy) error {
	var errs []error
	if p.Algorithm != "" && p.Algorithm != AlgorithmOR {
		errs = append(errs, core.New(core.ErrInvalid,
			fmt.Sprintf("retention: algorithm %q: only %q is supported", p.Algorithm, AlgorithmOR)))
	}
	if len(p.Rules) > MaxRules {
		errs = append(errs, core.New(core.ErrInvalid,
			fmt.Sprintf("retention: %d rules: a policy holds at most %d", len(p.Rules), MaxRules)))
	}
	for i, r := range p.Rules {
		if err := validateRule(r); err != nil {
			errs = append(errs, fmt.Errorf("retention: rule %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

func validateRule(r Rule) error {
	t, ok := template(r.Template)
	if !ok {
		ids := make([]string, 0, 7)
		for _, t := range Templates() {
			ids = append(ids, t.ID)
		}
		return core.New(core.ErrInvalid, fmt.Sprintf("unknown template %q: want one of %s", r.Template, strings.Join(ids, ", ")))
	}
	if t.Param != "" {
		v, ok := r.Params[t.Param]
		limit := MaxCount
		if t.Unit == "days" {
			limit = MaxDays
		}
		switch {
		case !ok:
			return core.New(core.ErrInvalid, fmt.Sprintf("missing parameter %s for template %s", t.Param, t.ID))
		case v < 0:
			return core.New(core.ErrInvalid, fmt.Sprintf("%s is %d: less than zero", t.Param, v))
		case v > limit:
			return core.New(core.ErrInvalid, fmt.Sprintf("%s is %d: more than %d", t.Param, v, limit))
		}
	}
	if err := tagselect.ValidateRepository(r.ScopeSelectors); err != nil {
		return err
	}
	return tagselect.ValidateTag(r.TagSelectors)
}

// describe says why the rule retains what it retains, for a Decision.
func (r Rule) describe() string {
	n := r.Param()
	switch r.Template {
	case LatestPushedK:
		return fmt.Sprintf("among the %d most recently pushed", n)
	case LatestPulledN:
		return fmt.Sprintf("among the %d most recently pulled", n)
	case LatestActiveK:
		return fmt.Sprintf("among the %d most recently pushed or pulled", n)
	case NDaysSinceLastPush, LastXDays:
		return fmt.Sprintf("pushed within the last %d days", n)
	case NDaysSinceLastPull:
		return fmt.Sprintf("pulled within the last %d days", n)
	default:
		return "always retained"
	}
}
