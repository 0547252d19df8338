package core

// Page is one page of a listing: skip Offset items, return at most Limit
// (0 means the lister's default; listers cap it at their maximum).
type Page struct {
	Offset int
	Limit  int
}

// Bounded returns p with Limit set to def when 0 and capped at max, and a
// negative Offset taken as 0.
func (p Page) Bounded(def, max int) Page {
	switch {
	case p.Limit <= 0:
		p.Limit = def
	case p.Limit > max:
		p.Limit = max
	}
	p.Offset = max0(p.Offset)
	return p
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}
