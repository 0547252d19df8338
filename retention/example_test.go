package retention_test

import (
	"fmt"
	"time"

	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/tagselect"
)

// Keep the two latest v* images of every repository and every release,
// and see what goes: a multi-arch index takes its platforms with it, a
// signature follows its image.
func Example() {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	daysAgo := func(n int) time.Time { return now.AddDate(0, 0, -n) }
	every := []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}}
	policy := retention.Policy{Rules: []retention.Rule{{
		Template:       retention.LatestPushedK,
		Params:         map[string]int{retention.LatestPushedK: 2},
		ScopeSelectors: every,
		TagSelectors:   []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v*"}},
	}, {
		Template:       retention.Always,
		ScopeSelectors: every,
		TagSelectors:   []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "release-*"}},
	}}}
	tag := func(name string) []retention.Tag { return []retention.Tag{{Name: name}} }
	artifacts := []retention.Artifact{
		{Repository: "library/app", Digest: "sha256:01", Tags: tag("v3"), PushedAt: daysAgo(1)},
		{Repository: "library/app", Digest: "sha256:02", Tags: tag("v2"), PushedAt: daysAgo(2)},
		{Repository: "library/app", Digest: "sha256:03", Tags: tag("v1"), PushedAt: daysAgo(3),
			Children: []string{"sha256:a1", "sha256:a2"}},
		{Repository: "library/app", Digest: "sha256:a1", PushedAt: daysAgo(3)},
		{Repository: "library/app", Digest: "sha256:a2", PushedAt: daysAgo(3)},
		{Repository: "library/app", Digest: "sha256:04", Tags: tag("release-1"), PushedAt: daysAgo(90)},
		{Repository: "library/app", Digest: "sha256:05", PushedAt: daysAgo(1)},
		{Repository: "library/app", Digest: "sha256:s3", Subject: "sha256:03", PushedAt: daysAgo(3)},
	}

	res, err := retention.Evaluate(policy, artifacts, now)
	if err != nil {
		panic(err)
	}
	for _, d := range res.Decisions {
		fmt.Printf("%-6s %s %v: %s\n", d.Action, d.Digest, d.Tags, d.Reason)
		for _, dep := range d.Dependents {
			fmt.Printf("         with %s, %s of %s\n", dep.Digest, dep.Relation, dep.Of)
		}
	}

	policy.Rules[0].Params[retention.LatestPushedK] = -1
	fmt.Println(retention.Validate(policy))
	// Output:
	// retain sha256:01 [v3]: retained by rule 1: among the 2 most recently pushed
	// retain sha256:02 [v2]: retained by rule 1: among the 2 most recently pushed
	// delete sha256:03 [v1]: no rule retains it
	//          with sha256:a1, child of sha256:03
	//          with sha256:a2, child of sha256:03
	//          with sha256:s3, referrer of sha256:03
	// retain sha256:04 [release-1]: retained by rule 2: always retained
	// delete sha256:05 []: no rule retains it
	// retention: rule 1: latestPushedK is -1: less than zero
}
