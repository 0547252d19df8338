package retention

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

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
	// LabelSelectors narrow the candidates by the labels the artifacts
	// carry (Harbor's tag selectors of kind "label"): a candidate must
	// pass the tag selectors and every label selector. None narrow
	// nothing.
	LabelSelectors []LabelSelector
}

// LabelKind is the kind of Harbor's label selector among a rule's
// tag_selectors; its pattern is a comma-separated list of label names.
const LabelKind = "label"

// Decorations of a LabelSelector, Harbor's.
const (
	WithLabels    = "withLabels"    // artifacts carrying every one of the labels
	WithoutLabels = "withoutLabels" // artifacts carrying none of them
)

// Bounds on label selectors: at most MaxLabelSelectors a rule, each
// naming 1 to MaxSelectorLabels labels of at most MaxLabelName bytes
// (label.MaxNameLength).
const (
	MaxLabelSelectors = 8
	MaxSelectorLabels = 32
	MaxLabelName      = 128
)

// LabelSelector selects artifacts by the names of the labels they carry
// (see package label): with WithLabels, an artifact carrying all of
// Labels; with WithoutLabels, one carrying none of them. Names match
// exactly, case included; a global and a project label of the same name
// are the same to a selector. An image index is judged by its own
// labels, never its children's.
type LabelSelector struct {
	Decoration string
	Labels     []string
}

func (s LabelSelector) String() string {
	return s.Decoration + " " + fmt.Sprintf("%q", strings.Join(s.Labels, ","))
}

// Match reports whether the selector selects an artifact carrying the
// labels named carried. A selector of an unknown decoration selects
// nothing.
func (s LabelSelector) Match(carried []string) bool {
	var want bool
	switch s.Decoration {
	case WithLabels:
		want = true
	case WithoutLabels:
	default:
		return false
	}
	for _, l := range s.Labels {
		if slices.Contains(carried, l) != want {
			return false
		}
	}
	return true
}

// MatchLabels reports whether every selector selects an artifact carrying
// the labels named carried; no selectors select every artifact.
func MatchLabels(selectors []LabelSelector, carried []string) bool {
	for _, s := range selectors {
		if !s.Match(carried) {
			return false
		}
	}
	return true
}

// ValidateLabelSelectors checks a rule's label selectors: at most
// MaxLabelSelectors, each WithLabels or WithoutLabels naming 1 to
// MaxSelectorLabels labels, each name not empty, at most MaxLabelName
// bytes of UTF-8 without control characters or surrounding spaces (a
// label's name has none, so such a name would never match). A failure
// wraps core.ErrInvalid.
func ValidateLabelSelectors(selectors []LabelSelector) error {
	if len(selectors) > MaxLabelSelectors {
		return core.New(core.ErrInvalid, fmt.Sprintf("%d label selectors: a rule holds at most %d", len(selectors), MaxLabelSelectors))
	}
	for i, s := range selectors {
		if err := s.validate(); err != nil {
			return core.New(core.ErrInvalid, fmt.Sprintf("label selector %d: %s", i+1, err))
		}
	}
	return nil
}

func (s LabelSelector) validate() error {
	if s.Decoration != WithLabels && s.Decoration != WithoutLabels {
		return fmt.Errorf("decoration %q: want %s or %s", s.Decoration, WithLabels, WithoutLabels)
	}
	switch n := len(s.Labels); {
	case n == 0:
		return fmt.Errorf("no labels: name 1 to %d", MaxSelectorLabels)
	case n > MaxSelectorLabels:
		return fmt.Errorf("%d labels: at most %d", n, MaxSelectorLabels)
	}
	for j, l := range s.Labels {
		switch {
		case l == "":
			return fmt.Errorf("label %d has an empty name", j+1)
		case len(l) > MaxLabelName:
			return fmt.Errorf("label %d: name longer than %d bytes", j+1, MaxLabelName)
		case !utf8.ValidString(l) || strings.ContainsFunc(l, unicode.IsControl):
			return fmt.Errorf("label %d: name %q has invalid characters", j+1, l)
		case strings.TrimSpace(l) != l:
			return fmt.Errorf("label %d: name %q has surrounding spaces, which no label's name has", j+1, l)
		}
	}
	return nil
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
	if err := tagselect.ValidateTag(r.TagSelectors); err != nil {
		return err
	}
	return ValidateLabelSelectors(r.LabelSelectors)
}

// needsLabels reports whether an evaluation of p reads the artifacts'
// labels: some enabled rule has label selectors.
func needsLabels(p Policy) bool {
	for _, r := range p.Rules {
		if !r.Disabled && len(r.LabelSelectors) > 0 {
			return true
		}
	}
	return false
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
