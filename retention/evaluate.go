package retention

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/tagselect"
)

// Artifact is one manifest of a repository as retention sees it.
type Artifact struct {
	// Repository is the full name, with its project: "library/app".
	Repository string
	Digest     string
	Tags       []Tag
	// PushedAt and PulledAt are the artifact's own times; the zero
	// PulledAt is never pulled. The times of its tags, and of its
	// children for an index, count too (see Evaluate).
	PushedAt time.Time
	PulledAt time.Time
	// Children are the digests of the manifests an image index lists. A
	// child need not be given as an Artifact of its own; if it is, it is
	// still never judged alone.
	Children []string
	// Subject is the digest of the artifact a referrer (a signature, an
	// SBOM, an attestation) refers to; empty for any other artifact.
	Subject string
	// Labels are the names of the labels the artifact carries, which
	// the rules' label selectors read; for an image index, the index's
	// own (its children are never judged alone, so theirs never count).
	Labels []string
}

// Tag is a tag of an artifact, with its own push and pull times.
type Tag struct {
	Name     string
	PushedAt time.Time
	PulledAt time.Time
}

// Action is what a Decision says to do with an artifact.
type Action string

// Actions.
const (
	// Retain: a rule retains it, no enabled rule applies to its
	// repository, or it is kept on its own (see Decision.Reason).
	Retain Action = "retain"
	// Delete: the artifact and its Dependents are to be deleted.
	Delete Action = "delete"
	// Protect: no rule retains it, but the Protector (see WithProtector)
	// keeps it or one of the artifacts it would take with it. Harbor's
	// retention reports such an artifact as failed ("immutable").
	Protect Action = "protect"
)

// Relation is how a Dependent hangs on the artifact it follows.
type Relation string

// Relations.
const (
	Child    Relation = "child"    // a manifest an image index lists
	Referrer Relation = "referrer" // a manifest whose subject it is
)

// Dependent is an artifact that is never judged alone: a child of an image
// index, or a referrer of a subject. It shares the fate of the Decision
// that lists it.
type Dependent struct {
	Digest   string
	Tags     []string
	Relation Relation
	// Of is the digest of the index (Child) or the subject (Referrer).
	Of string
}

// Decision is the verdict on one artifact judged on its own, with the
// artifacts that go with it.
type Decision struct {
	Repository string
	Digest     string
	Tags       []string
	Action     Action
	// Rules are the indexes into Policy.Rules of the rules that retain
	// it, ascending; empty unless a rule retains it. Reasons count rules
	// from 1: index 0 is "rule 1".
	Rules  []int
	Reason string
	// Dependents go with the artifact: retained with it, or deleted with
	// it. A Delete lists them in a safe order to delete them in after the
	// artifact itself: each after the index or subject it hangs on. A
	// child that two deleted indexes share is listed under the later of
	// them in Result order, so deleting decision by decision never leaves
	// an index pointing at a deleted child.
	Dependents []Dependent
}

// Result is an evaluation: one Decision for each artifact judged on its
// own, ordered by repository, then digest.
type Result struct {
	Decisions []Decision
}

// Deleted returns the Delete decisions, in order.
func (r Result) Deleted() []Decision {
	var out []Decision
	for _, d := range r.Decisions {
		if d.Action == Delete {
			out = append(out, d)
		}
	}
	return out
}

// Lookup returns the decision that governs an artifact: its own, or the
// first one listing it among its Dependents.
func (r Result) Lookup(repository, digest string) (Decision, bool) {
	for _, d := range r.Decisions {
		if d.Repository != repository {
			continue
		}
		if d.Digest == digest {
			return d, true
		}
		for _, dep := range d.Dependents {
			if dep.Digest == digest {
				return d, true
			}
		}
	}
	return Decision{}, false
}

// Protector reports whether an artifact must not be deleted, and why; for
// Harbor's retention, an artifact holding a tag that an immutability rule
// matches. It must be a pure function of its argument.
type Protector func(a Artifact) (reason string, protected bool)

// Option adjusts an evaluation.
type Option func(*options)

type options struct {
	protect Protector
}

// WithProtector makes Evaluate ask p about every artifact it would delete,
// the dependents of a deleted artifact included; a protected one is kept,
// and so is every artifact it hangs on (a subject is not deleted from
// under its immutable signature), with Action Protect.
func WithProtector(p Protector) Option {
	return func(o *options) { o.protect = p }
}

// Evaluate applies a policy to the artifacts of one or more repositories
// at the time now, and says for each what to do. It validates the policy
// first (see Validate); an artifact with no project in its repository
// name, an empty digest or tag name, or a digest given twice in a
// repository is invalid too. Everything is decided per repository.
//
// In each repository, the artifacts judged on their own are those that
// are neither a child of an index given in the same repository nor a
// referrer (Subject set). The enabled rules whose scope selectors pick
// the repository apply; if none does, every artifact is retained. Each
// applicable rule's tag selectors and label selectors (see LabelSelector,
// on Artifact.Labels) pick candidates among the judged artifacts, and the
// template retains some of them. A judged artifact no
// applicable rule retains is deleted.
//
// An artifact's push time is the latest of its own, its tags' and (for an
// index) its children's; the same for its pull time. Rankings break ties
// by digest: latestPushedK ranks by push time, latestPulledN by pull time
// (never pulled last), then push time, latestActiveK by the later of the
// two. The day-based templates count days of 24 hours back from now;
// nDaysSinceLastPush keeps a push at the boundary, lastXDays does not;
// never pulled is never within N days.
//
// The children of an index and the referrers of a subject follow it: kept
// if any index listing them, or their subject, is kept; otherwise deleted
// with it. Two exceptions keep an artifact on its own, with a decision
// saying so: a child with tags of its own whose indexes are all deleted
// (Harbor keeps it too, and judges it alone once no index lists it), and
// a referrer whose subject is not among the artifacts given.
func Evaluate(p Policy, artifacts []Artifact, now time.Time, opts ...Option) (Result, error) {
	if err := Validate(p); err != nil {
		return Result{}, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	byRepo := make(map[string][]Artifact)
	for _, a := range artifacts {
		if err := checkArtifact(a); err != nil {
			return Result{}, err
		}
		byRepo[a.Repository] = append(byRepo[a.Repository], a)
	}
	repos := make([]string, 0, len(byRepo))
	for r := range byRepo {
		repos = append(repos, r)
	}
	slices.Sort(repos)

	var res Result
	for _, repo := range repos {
		g, err := newGraph(repo, byRepo[repo])
		if err != nil {
			return Result{}, err
		}
		g.judge(p, now)
		g.resolve()
		if o.protect != nil {
			g.protect(o.protect)
		}
		res.Decisions = append(res.Decisions, g.decisions(p)...)
	}
	return res, nil
}

func checkArtifact(a Artifact) error {
	if _, ok := tagselect.RepositoryName(a.Repository); !ok {
		return core.New(core.ErrInvalid, fmt.Sprintf("retention: artifact %s: repository %q is not project/name", a.Digest, a.Repository))
	}
	if a.Digest == "" {
		return core.New(core.ErrInvalid, fmt.Sprintf("retention: an artifact of %s has no digest", a.Repository))
	}
	for _, t := range a.Tags {
		if t.Name == "" {
			return core.New(core.ErrInvalid, fmt.Sprintf("retention: artifact %s@%s has a tag with no name", a.Repository, a.Digest))
		}
	}
	return nil
}

// keep says why an artifact that is not judged on its own is kept.
type keep int8

const (
	keepNot     keep = iota
	keepFollows      // an index listing it, or its subject, is kept
	keepTagged       // a child with tags of its own, its indexes deleted
	keepOrphan       // a referrer whose subject is not given
	keepCycle        // its indexes and subjects lead back to itself
	keepProtect      // the protector keeps it
)

type node struct {
	art  Artifact // only Repository and Digest for a child not given
	tags []string

	parents   []*node // indexes listing it
	children  []*node
	referrers []*node
	subject   *node
	orphan    bool // Subject set but not given

	root           bool
	pushed, pulled time.Time
	rules          []int

	state      int8 // resolve: 0 unvisited, 1 visiting, 2 done
	kept       bool
	why        keep
	protected  string // the protector's reason
	blocker    *node  // a root: the protected artifact that keeps it
	deleteWith *node
	covered    bool
}

func (n *node) owners() []*node {
	if n.subject != nil {
		return append([]*node{n.subject}, n.parents...)
	}
	return n.parents
}

func (n *node) dependents() []*node {
	return append(slices.Clip(n.referrers), n.children...)
}

type graph struct {
	repo    string
	inScope bool
	nodes   []*node // by digest
	roots   []*node // by digest
}

func newGraph(repo string, arts []Artifact) (*graph, error) {
	g := &graph{repo: repo}
	byDigest := make(map[string]*node, len(arts))
	for _, a := range arts {
		if byDigest[a.Digest] != nil {
			return nil, core.New(core.ErrInvalid, fmt.Sprintf("retention: artifact %s@%s given twice", repo, a.Digest))
		}
		n := &node{art: a}
		for _, t := range a.Tags {
			n.tags = append(n.tags, t.Name)
		}
		byDigest[a.Digest] = n
		g.nodes = append(g.nodes, n)
	}
	given := slices.Clone(g.nodes)
	for _, n := range given {
		for _, d := range n.art.Children {
			c := byDigest[d]
			if c == nil {
				c = &node{art: Artifact{Repository: repo, Digest: d}}
				byDigest[d] = c
				g.nodes = append(g.nodes, c)
			}
			if !slices.Contains(c.parents, n) {
				c.parents = append(c.parents, n)
				n.children = append(n.children, c)
			}
		}
	}
	for _, n := range given { // a subject may be a child that is not given
		if s := n.art.Subject; s != "" {
			if n.subject = byDigest[s]; n.subject == nil {
				n.orphan = true
			} else {
				n.subject.referrers = append(n.subject.referrers, n)
			}
		}
	}
	byDig := func(a, b *node) int { return strings.Compare(a.art.Digest, b.art.Digest) }
	slices.SortFunc(g.nodes, byDig)
	for _, n := range g.nodes {
		slices.SortFunc(n.parents, byDig)
		slices.SortFunc(n.children, byDig)
		slices.SortFunc(n.referrers, byDig)
		if len(n.parents) == 0 && n.art.Subject == "" {
			n.root = true
			n.pushed, n.pulled = activity(n)
			g.roots = append(g.roots, n)
		}
	}
	return g, nil
}

// activity is the latest push and pull of an artifact, its tags, and the
// manifests it lists, at any depth.
func activity(root *node) (pushed, pulled time.Time) {
	seen := map[*node]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		if seen[n] {
			return
		}
		seen[n] = true
		pushed, pulled = latest(pushed, n.art.PushedAt), latest(pulled, n.art.PulledAt)
		for _, t := range n.art.Tags {
			pushed, pulled = latest(pushed, t.PushedAt), latest(pulled, t.PulledAt)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(root)
	return pushed, pulled
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// judge applies the rules to the artifacts judged on their own.
func (g *graph) judge(p Policy, now time.Time) {
	name, _ := tagselect.RepositoryName(g.repo)
	for i, r := range p.Rules {
		if r.Disabled || !tagselect.MatchRepository(r.ScopeSelectors, name) {
			continue
		}
		g.inScope = true
		var cands []*node
		for _, n := range g.roots {
			if tagselect.MatchTags(r.TagSelectors, n.tags) && MatchLabels(r.LabelSelectors, n.art.Labels) {
				cands = append(cands, n)
			}
		}
		for _, n := range r.retain(cands, now) {
			n.rules = append(n.rules, i)
		}
	}
}

// retain returns the candidates the rule's template retains.
func (r Rule) retain(c []*node, now time.Time) []*node {
	n := r.Param()
	switch r.Template {
	case LatestPushedK:
		return top(c, n, func(a, b *node) int { return b.pushed.Compare(a.pushed) })
	case LatestPulledN:
		return top(c, n, func(a, b *node) int {
			return cmp.Or(b.pulled.Compare(a.pulled), b.pushed.Compare(a.pushed))
		})
	case LatestActiveK:
		return top(c, n, func(a, b *node) int {
			return latest(b.pushed, b.pulled).Compare(latest(a.pushed, a.pulled))
		})
	case NDaysSinceLastPush:
		cut := daysBefore(now, n)
		return filter(c, func(a *node) bool { return !a.pushed.IsZero() && !a.pushed.Before(cut) })
	case LastXDays:
		cut := daysBefore(now, n)
		return filter(c, func(a *node) bool { return !a.pushed.IsZero() && a.pushed.After(cut) })
	case NDaysSinceLastPull:
		cut := daysBefore(now, n)
		return filter(c, func(a *node) bool { return !a.pulled.IsZero() && !a.pulled.Before(cut) })
	default: // Always
		return c
	}
}

func top(c []*node, k int, order func(a, b *node) int) []*node {
	s := slices.Clone(c)
	slices.SortStableFunc(s, func(a, b *node) int {
		return cmp.Or(order(a, b), strings.Compare(a.art.Digest, b.art.Digest))
	})
	return s[:min(k, len(s))]
}

func filter(c []*node, keep func(*node) bool) []*node {
	var out []*node
	for _, n := range c {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// daysBefore is now minus days of 24 hours; beyond what a Duration holds,
// a time before any real one.
func daysBefore(now time.Time, days int) time.Time {
	const maxDays = int(1<<63-1) / int(24*time.Hour)
	if days > maxDays {
		return time.Time{}
	}
	return now.Add(-time.Duration(days) * 24 * time.Hour)
}

// resolve settles which artifacts are kept: the judged ones by their
// rules (or by being out of every rule's scope, or protected), every
// other by the artifacts it hangs on.
func (g *graph) resolve() {
	for _, n := range g.nodes {
		n.state = 0
	}
	var visit func(n *node) bool
	visit = func(n *node) bool {
		switch n.state {
		case 2:
			return n.kept
		case 1:
			return true // a cycle keeps what it reaches
		}
		n.state = 1
		if n.root {
			n.kept = !g.inScope || len(n.rules) > 0 || n.protected != "" || n.blocker != nil
		} else {
			owner, cycle := false, false
			for _, o := range n.owners() {
				if o.state == 1 {
					cycle = true
				} else if visit(o) {
					owner = true
				}
			}
			switch {
			case owner:
				n.why = keepFollows
			case n.protected != "":
				n.why = keepProtect
			case n.orphan:
				n.why = keepOrphan
			case cycle:
				n.why = keepCycle
			case n.art.Subject == "" && len(n.tags) > 0:
				n.why = keepTagged
			default:
				n.why = keepNot
			}
			n.kept = n.why != keepNot
		}
		n.state = 2
		return n.kept
	}
	for _, n := range g.nodes {
		visit(n)
	}
}

// protect asks the protector about every artifact to be deleted; a
// protected one keeps itself and, up the chain, the judged artifacts it
// hangs on.
func (g *graph) protect(p Protector) {
	var protected []*node
	for _, n := range g.nodes {
		if n.kept {
			continue
		}
		if reason, ok := p(n.art); ok {
			n.protected = cmp.Or(reason, "protected")
			protected = append(protected, n)
		}
	}
	if len(protected) == 0 {
		return
	}
	for _, n := range protected {
		if n.root {
			n.blocker = n
		}
	}
	for _, n := range protected {
		seen := map[*node]bool{}
		var up func(m *node)
		up = func(m *node) {
			if seen[m] {
				return
			}
			seen[m] = true
			if m.root {
				if m.blocker == nil {
					m.blocker = n
				}
				return
			}
			for _, o := range m.owners() {
				up(o)
			}
		}
		up(n)
	}
	g.resolve()
}

// decisions turns the outcome into one Decision per artifact judged or
// kept on its own, by digest.
func (g *graph) decisions(p Policy) []Decision {
	// A deleted dependent goes with the last deleted root reaching it.
	for _, r := range g.roots {
		if !r.kept {
			g.walk(r, func(n *node) bool { return !n.kept }, func(n *node) { n.deleteWith = r })
		}
	}
	goesWith := map[*node][]*node{}
	for _, n := range g.nodes {
		if n.deleteWith != nil {
			goesWith[n.deleteWith] = append(goesWith[n.deleteWith], n)
		}
	}
	var out []Decision
	for _, r := range g.roots {
		d := g.decision(r)
		switch {
		case len(r.rules) > 0:
			d.Action, d.Rules = Retain, r.rules
			d.Reason = fmt.Sprintf("retained by rule %d: %s", r.rules[0]+1, p.Rules[r.rules[0]].describe())
		case !g.inScope:
			d.Action = Retain
			d.Reason = fmt.Sprintf("no enabled rule applies to repository %s", g.repo)
		case r.blocker == r:
			d.Action = Protect
			d.Reason = "no rule retains it, but it is protected: " + r.protected
		case r.blocker != nil:
			d.Action = Protect
			d.Reason = fmt.Sprintf("no rule retains it, but %s %s that would go with it is protected: %s",
				relation(r.blocker), r.blocker.art.Digest, r.blocker.protected)
		default:
			d.Action = Delete
			d.Reason = "no rule retains it"
		}
		if r.kept {
			d.Dependents = g.keptWith(r)
		} else {
			d.Dependents = order(r, goesWith[r])
		}
		out = append(out, d)
	}
	for _, n := range g.nodes {
		if n.root || !n.kept || n.covered || n.why == keepFollows {
			continue
		}
		d := g.decision(n)
		d.Action = Retain
		switch n.why {
		case keepTagged:
			d.Reason = fmt.Sprintf("a child manifest with tags of its own: kept when its index %s is deleted", n.parents[0].art.Digest)
		case keepOrphan:
			d.Reason = fmt.Sprintf("a referrer whose subject %s is not among the artifacts: kept", n.art.Subject)
		case keepProtect:
			d.Reason = "protected: " + n.protected
		default:
			d.Reason = "its indexes and subjects lead back to itself: kept"
		}
		d.Dependents = g.keptWith(n)
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b Decision) int { return strings.Compare(a.Digest, b.Digest) })
	return out
}

func (g *graph) decision(n *node) Decision {
	n.covered = true
	return Decision{Repository: g.repo, Digest: n.art.Digest, Tags: n.tags}
}

// keptWith lists every dependent of a kept artifact, all kept with it.
func (g *graph) keptWith(n *node) []Dependent {
	var set []*node
	g.walk(n, func(*node) bool { return true }, func(m *node) { set = append(set, m); m.covered = true })
	slices.SortFunc(set, func(a, b *node) int { return strings.Compare(a.art.Digest, b.art.Digest) })
	return order(n, set)
}

// walk visits the dependents of n, at any depth, through those that pass.
func (g *graph) walk(n *node, pass func(*node) bool, visit func(*node)) {
	seen := map[*node]bool{n: true}
	queue := []*node{n}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, d := range m.dependents() {
			if seen[d] || !pass(d) {
				continue
			}
			seen[d] = true
			visit(d)
			queue = append(queue, d)
		}
	}
}

// order lists set (dependents of root, by digest) so that each comes
// after the ones it hangs on among root and set, ties by digest; a cycle,
// which only kept artifacts can form, ends the list in digest order.
func order(root *node, set []*node) []Dependent {
	in := make(map[*node]bool, len(set))
	for _, n := range set {
		in[n] = true
	}
	waiting := make(map[*node]int, len(set))
	for _, n := range set {
		for _, o := range n.owners() {
			if in[o] {
				waiting[n]++
			}
		}
	}
	done := make(map[*node]bool, len(set))
	out := make([]Dependent, 0, len(set))
	for len(out) < len(set) {
		var next *node
		for _, n := range set {
			if !done[n] && waiting[n] == 0 {
				next = n
				break
			}
		}
		if next == nil { // a cycle: the rest in digest order
			for _, n := range set {
				if !done[n] {
					done[n] = true
					out = append(out, dependent(n, root, in))
				}
			}
			break
		}
		done[next] = true
		out = append(out, dependent(next, root, in))
		for _, d := range next.dependents() {
			if in[d] {
				waiting[d]--
			}
		}
	}
	return out
}

func dependent(n, root *node, in map[*node]bool) Dependent {
	d := Dependent{Digest: n.art.Digest, Tags: n.tags, Relation: Child}
	if n.subject != nil {
		d.Relation, d.Of = Referrer, n.subject.art.Digest
		return d
	}
	if n.orphan {
		d.Relation, d.Of = Referrer, n.art.Subject
		return d
	}
	for _, p := range n.parents {
		if p == root || in[p] {
			d.Of = p.art.Digest
			return d
		}
	}
	if len(n.parents) > 0 {
		d.Of = n.parents[0].art.Digest
	}
	return d
}

func relation(n *node) string {
	switch {
	case n.art.Subject != "":
		return "its referrer"
	case len(n.parents) > 0:
		return "its child"
	default:
		return "the artifact"
	}
}
