package retention_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/berthlabs/berth/retention"
)

// Any graph of indexes, children and referrers, however malformed: every
// artifact has one fate; no child or referrer is deleted on its own; what
// is deleted is deleted once, after whatever it hangs on, and only if
// everything it hangs on is deleted too; the result does not depend on the
// order of the input.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{0x13, 0x42, 0x07, 0x99, 0x20, 0x05}, uint8(1), uint8(0))
	f.Add([]byte{0xff, 0x00, 0x81, 0x18, 0x3c, 0x66, 0x24, 0xc3}, uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, spec []byte, k, template uint8) {
		if len(spec) > 24 {
			spec = spec[:24]
		}
		n := len(spec) / 3
		dig := func(i int) string { return fmt.Sprintf("sha256:%02d", i%(n+2)) } // n, n+1: never given
		var arts []retention.Artifact
		for i := range n {
			b0, b1, b2 := spec[3*i], spec[3*i+1], spec[3*i+2]
			a := retention.Artifact{Repository: "p/r", Digest: dig(i), PushedAt: now.Add(-time.Duration(b0%16) * day)}
			if b0&0x10 != 0 {
				a.PulledAt = now.Add(-time.Duration(b1%8) * day)
			}
			if b0&0x20 != 0 {
				a.Tags = []retention.Tag{{Name: fmt.Sprint("v", i)}}
			}
			for j := range 8 {
				if b1&(1<<j) != 0 && j < n+2 {
					a.Children = append(a.Children, dig(j))
				}
			}
			if b2&0x80 != 0 {
				a.Subject = dig(int(b2 & 0x0f))
			}
			if b2&0x40 != 0 {
				a.Labels = []string{"keep"}
			}
			arts = append(arts, a)
		}
		templates := retention.Templates()
		r := rule(templates[int(template)%len(templates)].ID, int(k%5))
		if template&0x80 != 0 {
			r.TagSelectors = taggedOnly
		}
		if template&0x40 != 0 {
			r.LabelSelectors = []retention.LabelSelector{{Decoration: retention.WithLabels, Labels: []string{"keep"}}}
		}
		p := retention.Policy{Rules: []retention.Rule{r}}
		protect := retention.WithProtector(func(a retention.Artifact) (string, bool) { return "odd", a.Digest[len(a.Digest)-1]%5 == 0 })
		res, err := retention.Evaluate(p, arts, now, protect)
		if err != nil {
			t.Fatal(err)
		}

		owners := map[string][]string{} // what each digest hangs on
		given := map[string]bool{}
		for _, a := range arts {
			given[a.Digest] = true
			if a.Subject != "" {
				owners[a.Digest] = append(owners[a.Digest], a.Subject)
			}
			for _, c := range a.Children {
				owners[c] = append(owners[c], a.Digest)
			}
		}
		fate := map[string]retention.Action{}
		deletedAt := map[string]int{} // position in deletion order
		pos := 0
		for _, d := range res.Decisions {
			if d.Action == retention.Delete && len(owners[d.Digest]) > 0 {
				t.Fatalf("%s hangs on %v but is deleted on its own", d.Digest, owners[d.Digest])
			}
			set := func(dig string) {
				if prev, ok := fate[dig]; ok && (prev == retention.Delete) != (d.Action == retention.Delete) {
					t.Fatalf("%s both %s and %s", dig, prev, d.Action)
				}
				if _, ok := deletedAt[dig]; ok && d.Action == retention.Delete {
					t.Fatalf("%s deleted twice", dig)
				}
				fate[dig] = d.Action
				if d.Action == retention.Delete {
					deletedAt[dig] = pos
					pos++
				}
			}
			set(d.Digest)
			for _, dep := range d.Dependents {
				set(dep.Digest)
			}
		}
		for dig := range given {
			if _, ok := fate[dig]; !ok {
				t.Fatalf("%s has no fate", dig)
			}
		}
		for dig, at := range deletedAt {
			for _, o := range owners[dig] {
				if !given[o] {
					continue // a subject never given keeps it, so it is not deleted
				}
				oat, ok := deletedAt[o]
				if !ok {
					t.Fatalf("%s deleted but %s, which it hangs on, is not", dig, o)
				}
				if oat > at {
					t.Fatalf("%s deleted before %s, which it hangs on", dig, o)
				}
			}
			if dig[len(dig)-1]%5 == 0 {
				t.Fatalf("protected %s deleted", dig)
			}
		}

		slices.Reverse(arts)
		again, err := retention.Evaluate(p, arts, now, protect)
		if err != nil || fmt.Sprint(again) != fmt.Sprint(res) {
			t.Fatalf("order matters:\n%v\n%v", res, again)
		}
	})
}
