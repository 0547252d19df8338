package immutable_test

import (
	"fmt"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/tagselect"
)

// Release tags of every repository are immutable once pushed: a new one
// may be pushed, an existing one neither moved nor deleted.
func Example() {
	rules := []immutable.Rule{{
		ID:             1,
		ScopeSelectors: []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}},
		TagSelectors:   []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v*"}},
	}}
	if err := immutable.Validate(rules); err != nil {
		panic(err)
	}

	held, rule := immutable.Check(rules, "library/app", "v1.2")
	fmt.Println("v1.2 immutable:", held, "by rule", rule.ID)
	held, _ = immutable.Check(rules, "library/app", "latest")
	fmt.Println("latest immutable:", held)

	fmt.Println("push v1.3:", immutable.CheckPush(rules, "library/app", "v1.3", "", "sha256:new"))
	fmt.Println("push v1.2 again:", immutable.CheckPush(rules, "library/app", "v1.2", "sha256:old", "sha256:old"))
	err := immutable.CheckPush(rules, "library/app", "v1.2", "sha256:old", "sha256:new")
	status, _ := core.HTTPStatus(err)
	fmt.Println("move v1.2:", status, err)
	fmt.Println("delete v1.2:", immutable.CheckDeleteTag(rules, "library/app", "v1.2"))
	fmt.Println("delete the artifact:", immutable.CheckDeleteArtifact(rules, "library/app", []string{"latest", "v1.2"}))
	fmt.Println("delete latest:", immutable.CheckDeleteTag(rules, "library/app", "latest"))
	// Output:
	// v1.2 immutable: true by rule 1
	// latest immutable: false
	// push v1.3: <nil>
	// push v1.2 again: <nil>
	// move v1.2: 412 the tag v1.2 configured as immutable, cannot be updated
	// delete v1.2: the tag v1.2 configured as immutable, cannot be deleted
	// delete the artifact: the tag v1.2 configured as immutable, cannot be deleted
	// delete latest: <nil>
}
