// Package retention is Harbor's tag retention: at its core a pure decision
// engine — a Policy (plain data) and the artifacts of some repositories
// in, a Decision for each artifact out (retain, delete or protect, with
// the reason), with no storage, database or clock of its own — and a
// Service that keeps one policy per project in SQL and runs it, on demand
// or on a schedule, as durable jobs that list the registry's artifacts and
// delete what the engine says (dry runs delete nothing), with a history of
// executions and per-repository task logs.
//
//	policy := retention.Policy{Rules: []retention.Rule{{
//		Template:       retention.LatestPushedK,
//		Params:         map[string]int{retention.LatestPushedK: 3},
//		ScopeSelectors: []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}},
//		TagSelectors:   []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v*"}},
//	}, {
//		Template:       retention.Always, // and whatever carries the label "keep"
//		LabelSelectors: []retention.LabelSelector{{Decoration: retention.WithLabels, Labels: []string{"keep"}}},
//	}}}
//	if err := retention.Validate(policy); err != nil { ... } // core.ErrInvalid, readable
//	res, err := retention.Evaluate(policy, artifacts, time.Now(),
//		retention.WithProtector(immutableTags)) // optional: never delete these
//	for _, d := range res.Deleted() {
//		// delete d.Digest from d.Repository, then d.Dependents in order
//	}
//
// # Harbor's semantics, and where this differs
//
// A policy retains; it never names what to delete. Rules are OR'ed
// (Harbor's only algorithm, "or"), at most 15 a policy. Retention runs per
// repository: the enabled rules whose scope (repository) selectors pick a
// repository apply to it, each rule's tag selectors pick candidates among
// its artifacts, and the rule's template retains some of them: the K most
// recently pushed (latestPushedK), pulled (latestPulledN) or either
// (latestActiveK), those pushed (nDaysSinceLastPush, lastXDays) or pulled
// (nDaysSinceLastPull) within N days, or all of them (always). K and N
// count per repository. An artifact of that repository no applicable rule
// retains is deleted — also one no rule's tag selectors pick, and an
// untagged one unless a tag selector counts untagged artifacts in (see
// tagselect.Selector.Untagged: the "untagged artifacts" box of Harbor's
// rule). A repository no enabled rule applies to is left alone.
//
// A rule may also select by label (Rule.LabelSelectors, Harbor's tag
// selectors of kind "label", whose pattern "a,b" lists label names): with
// WithLabels a candidate must carry every label named, with WithoutLabels
// none of them, and a candidate passes the tag selectors and every label
// selector. The engine reads Artifact.Labels, the names of the labels an
// artifact carries (package label; for an image index its own). The
// Service fills them through WithArtifactLabels, asking once per
// repository and only for policies with an enabled rule that selects by
// label; without a label source such a policy's executions fail rather
// than take every artifact for unlabelled.
//
// Retention judges artifacts, not tags: an artifact is retained when any of
// its tags is picked by a rule that retains it, and deleting an artifact
// removes all its tags. Its push time is the latest of its own and its
// tags' (Harbor uses the tags'), its pull time likewise.
//
// Multi-arch images and referrers are judged as one: an image index is one
// artifact, judged on its own, and the manifests it lists (Artifact.Children)
// never are; they are retained with it or deleted with it, in its
// Decision, so a run never deletes the untagged children of a kept index
// (the failure goharbor/harbor#11273 describes). An index's push and pull
// times include its children's, so a platform pulled by digest keeps its
// index active (goharbor/harbor#22390). A referrer (Artifact.Subject: a
// cosign or Notation signature, an SBOM, an attestation) follows its
// subject the same way, as Harbor deletes an accessory with its subject.
// A child with tags of its own is not deleted with its index (Harbor's
// rule), and a referrer whose subject is not given is kept.
//
// Harbor's retention does not delete an artifact holding an immutable tag
// and reports it as failed; WithProtector is that check, and Action
// Protect the report. Ties in the rankings, left to chance in Harbor, are
// broken by digest, so an evaluation is deterministic. Harbor defines a
// template "nothing" but does not register it; it is refused here too.
package retention
