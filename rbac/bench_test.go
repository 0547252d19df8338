package rbac

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchEngine is a registry-sized policy: 1,000 projects, ten members each,
// half of them through groups, some repository-level grants, 100 robots.
func benchEngine(b testing.TB) *Engine {
	p := Policy{}
	roles := Roles()
	for i := range 1000 {
		name := fmt.Sprintf("p%d", i)
		p.Projects = append(p.Projects, Project{Name: name, Public: i%10 == 0})
		for j := range 10 {
			subject := fmt.Sprintf("user:u%d", (i*7+j)%5000)
			if j%2 == 1 {
				subject = fmt.Sprintf("group:g%d", (i+j)%300)
			}
			bnd := Binding{Subject: subject, Project: name, Role: roles[j%len(roles)]}
			if j == 9 {
				bnd.Repositories = name + "/team/**"
			}
			p.Bindings = append(p.Bindings, bnd)
		}
	}
	for i := range 100 {
		p.Bindings = append(p.Bindings, Binding{Subject: fmt.Sprintf("robot:r%d", i), Project: fmt.Sprintf("p%d", i),
			Permissions: []Permission{{ResourceRepository, ActionPull}, {ResourceRepository, ActionPush}}})
	}
	p.Bindings = append(p.Bindings, Binding{Subject: "user:dev", Project: "p500", Role: Developer},
		Binding{Subject: "group:g7", Project: "p500", Role: Maintainer},
		Binding{Subject: "user:dev", Project: "p501", Role: Developer, Repositories: "p501/team/**"})
	e, err := New(p)
	require.NoError(b, err)
	return e
}

func BenchmarkDecide(b *testing.B) {
	e := benchEngine(b)
	dev := Principal{Kind: User, Name: "dev", Groups: []string{"g1", "g2", "g3", "g7"}}
	cases := []struct {
		name    string
		p       Principal
		repo    string
		perm    Permission
		allowed bool
	}{
		{"direct-pull", Principal{Kind: User, Name: "dev"}, "p500/app", pull, true},
		{"group-delete", dev, "p500/app", delArt, true},
		{"repo-grant-push", dev, "p501/team/a/app", push, true},
		{"denied-push", Principal{Kind: User, Name: "dev"}, "p500/app", delArt, false},
		{"anonymous-public-pull", Principal{}, "p10/app", pull, true},
		{"anonymous-private-pull", Principal{}, "p11/app", pull, false},
		{"robot-push", Principal{Kind: Robot, Name: "r5"}, "p5/app", push, true},
		{"admin-push", Principal{Kind: User, Name: "root", SystemAdmin: true}, "p5/app", push, true},
	}
	for _, c := range cases {
		require.Equal(b, c.allowed, e.Decide(c.p, "", c.repo, c.perm).Allowed, c.name)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(c.p, "", c.repo, c.perm)
			}
		})
	}
	b.Run("parallel-group-delete", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.Decide(dev, "", "p500/app", delArt)
			}
		})
	})
}

// BenchmarkCasbinEnforce measures what Decide avoids: asking the enforcer
// directly, for one subject of the same policy.
func BenchmarkCasbinEnforce(b *testing.B) {
	e := benchEngine(b)
	ok, err := e.enforce("user:dev", "p500/app", "repository", "pull")
	require.NoError(b, err)
	require.True(b, ok)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = e.enforce("user:dev", "p500/app", "repository", "pull")
	}
}

// TestConcurrentDecide runs decisions from many goroutines; with -race it
// shows the engine shares nothing mutable.
func TestConcurrentDecide(t *testing.T) {
	e := testEngine(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				assert.True(t, e.Decide(user("dave", "cn=devs,ou=groups,dc=x"), "", "secret/app", push).Allowed)
				assert.False(t, e.Decide(user("bob"), "", "library/app", push).Allowed)
				granted, _ := e.RepositoryActions(robot("ci"), fmt.Sprintf("library/app%d", i), []string{"pull", "push"})
				assert.Equal(t, []string{"pull", "push"}, granted)
			}
		}()
	}
	wg.Wait()
}

// BenchmarkNewTenThousandProjects measures building the engine of an
// installation with 10,000 projects, each with its owner as project
// admin: the server rebuilds it after every change of a membership.
func BenchmarkNewTenThousandProjects(b *testing.B) {
	const benchProjects = 10_000
	p := Policy{}
	for i := range benchProjects {
		name := fmt.Sprintf("p%05d", i)
		p.Projects = append(p.Projects, Project{Name: name})
		p.Bindings = append(p.Bindings, Binding{Subject: "user:admin", Project: name, Role: ProjectAdmin})
	}
	for b.Loop() {
		if _, err := New(p); err != nil {
			b.Fatal(err)
		}
	}
}
