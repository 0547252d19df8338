package browsertest

// open opens the <details> panel whose id is id (a "New ..." form).
func (b *browser) open(id string) {
	b.t.Helper()
	b.press("#" + id + " > summary")
}
