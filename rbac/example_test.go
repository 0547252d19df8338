package rbac_test

import (
	"fmt"
	"strings"

	"github.com/berthlabs/berth/rbac"
)

// The authorization matrix, evaluated by rbac alone: every role × action on
// a public project ("library") and a private one ("secret"). Each cell shows
// two marks: library first, then secret.
func Example() {
	policy := rbac.Policy{
		Projects: []rbac.Project{{Name: "library", Public: true}, {Name: "secret"}},
	}
	for _, role := range rbac.Roles() {
		for _, project := range []string{"library", "secret"} {
			policy.Bindings = append(policy.Bindings, rbac.Binding{Subject: "user:" + string(role), Project: project, Role: role})
		}
	}
	policy.Bindings = append(policy.Bindings,
		rbac.Binding{Subject: "robot:ci", Project: "*", Permissions: []rbac.Permission{
			{Resource: rbac.ResourceRepository, Action: rbac.ActionPull},
			{Resource: rbac.ResourceRepository, Action: rbac.ActionPush}}},
		rbac.Binding{Subject: "group:devs", Project: "secret", Role: rbac.Developer},
		rbac.Binding{Subject: "user:erin", Project: "secret", Role: rbac.Maintainer, Repositories: "secret/team/**"},
	)
	e, err := rbac.New(policy)
	if err != nil {
		panic(err)
	}

	columns := []struct {
		name string
		repo bool
		perm rbac.Permission
	}{
		{"pull", true, rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPull}},
		{"push", true, rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPush}},
		{"delete", true, rbac.Permission{Resource: rbac.ResourceArtifact, Action: rbac.ActionDelete}},
		{"tag-del", true, rbac.Permission{Resource: rbac.ResourceTag, Action: rbac.ActionDelete}},
		{"list", false, rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionList}},
		{"member+", false, rbac.Permission{Resource: rbac.ResourceMember, Action: rbac.ActionCreate}},
		{"robot+", false, rbac.Permission{Resource: rbac.ResourceRobot, Action: rbac.ActionCreate}},
	}
	type row struct {
		name string
		p    rbac.Principal
	}
	rows := []row{{"anonymous", rbac.Principal{}}, {"non-member", rbac.Principal{Kind: rbac.User, Name: "carol"}}}
	for _, role := range rbac.Roles() {
		rows = append(rows, row{string(role), rbac.Principal{Kind: rbac.User, Name: string(role)}})
	}
	rows = append(rows,
		row{"system admin", rbac.Principal{Kind: rbac.User, Name: "root", SystemAdmin: true}},
		row{"robot pull,push", rbac.Principal{Kind: rbac.Robot, Name: "ci"}})

	header := fmt.Sprintf("%-15s", "library,secret")
	for _, c := range columns {
		header += fmt.Sprintf(" %-7s", c.name)
	}
	fmt.Println(strings.TrimRight(header, " "))
	for _, row := range rows {
		line := fmt.Sprintf("%-15s", row.name)
		for _, c := range columns {
			cell := ""
			for _, project := range []string{"library", "secret"} {
				repo := ""
				if c.repo {
					repo = project + "/app"
				}
				cell += map[bool]string{true: "Y", false: "-"}[e.Decide(row.p, project, repo, c.perm).Allowed]
			}
			line += fmt.Sprintf(" %-7s", cell)
		}
		fmt.Println(strings.TrimRight(line, " "))
	}

	fmt.Println()
	dave := rbac.Principal{Kind: rbac.User, Name: "dave", Groups: []string{"devs"}}
	erin := rbac.Principal{Kind: rbac.User, Name: "erin"}
	push := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPush}
	fmt.Println(e.Decide(rbac.Principal{Kind: rbac.User, Name: "guest"}, "", "library/app", push).Reason)
	fmt.Println(e.Decide(dave, "", "secret/app", push).Reason)
	fmt.Println(e.Decide(erin, "", "secret/team/app", push).Reason)
	fmt.Println(e.Decide(erin, "", "secret/app", push).Reason)
	fmt.Println(e.Decide(rbac.Principal{}, "", "secret/app", rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPull}).Reason)
	fmt.Println(e.Decide(rbac.Principal{Kind: rbac.Robot, Name: "ci"}, "", "secret/app", rbac.Permission{Resource: rbac.ResourceArtifact, Action: rbac.ActionDelete}).Reason)

	// Output:
	// library,secret  pull    push    delete  tag-del list    member+ robot+
	// anonymous       Y-      --      --      --      Y-      --      --
	// non-member      Y-      --      --      --      Y-      --      --
	// limited-guest   YY      --      --      --      YY      --      --
	// guest           YY      --      --      --      YY      --      --
	// developer       YY      YY      --      --      YY      --      --
	// maintainer      YY      YY      YY      YY      YY      --      --
	// project-admin   YY      YY      YY      YY      YY      YY      YY
	// system admin    YY      YY      YY      YY      YY      YY      YY
	// robot pull,push YY      YY      --      --      Y-      --      --
	//
	// denied: guest is guest of project "library"; guest cannot push repository
	// allowed: dave is developer of project "secret" via group "devs"
	// allowed: erin is maintainer of "secret/team/**" in project "secret"
	// denied: erin is maintainer of "secret/team/**" in project "secret", which does not cover "secret/app"
	// denied: anonymous users may only pull from public projects; "secret" is private
	// denied: robot "ci" has no delete artifact permission on project "secret"
}
