package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testtool"
)

// browser is one headless chromium with one tab.
type browser struct {
	t    testing.TB
	ctx  context.Context
	base string
}

// newBrowser starts chromium for t against the portal at base. It is
// Debian's chromium, kept off every network but loopback: the flags turn
// off its background connections (updates, sync, safe browsing), which
// this machine's closed network would refuse.
func newBrowser(t testing.TB, base string) *browser {
	t.Helper()
	exe := os.Getenv("CHROMIUM")
	if exe == "" {
		exe = testtool.Require(t, "chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "starting %s", exe)
	return &browser{t: t, ctx: ctx, base: base}
}

// do runs actions, failing the test on an error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, actions...))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, opts...))
	require.NoError(b.t, err, "evaluating %s", expr)
	return v
}

// visit opens a portal path and waits for the page.
func (b *browser) visit(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// navigating runs an action that leaves the page (a click on a link or
// a submit button) and waits until the next page has loaded.
// Confirmation dialogs ("Delete project x?") are accepted, as a user who
// means it would.
func (b *browser) navigating(action chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	eval[bool](b, `window.__berthOld = true; window.confirm = () => true; true`)
	b.do(action)
	deadline := time.Now().Add(30 * time.Second)
	for {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__berthOld === undefined && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the page did not change after the action (at %s)", b.location())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// click clicks the first element the CSS selector sel matches and waits
// for the page it leads to.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.navigating(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// press clicks an element that does not leave the page (a <summary>, a
// copy button, a checkbox).
func (b *browser) press(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// fill types value into the field sel names (after clearing it).
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	eval[bool](b, `document.querySelector(`+string(q)+`).value = ""; true`)
	b.do(chromedp.SendKeys(chromedp.CSS(sel), value))
}

// choose selects the option of value in the <select> sel names.
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	eval[bool](b, `(s => { s.value = `+string(v)+`; s.dispatchEvent(new Event("change", {bubbles: true})); return true })(document.querySelector(`+string(q)+`))`)
}

// text is the visible text of the first element sel matches, spaces
// folded.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, "reading %s", sel)
	return strings.Join(strings.Fields(s), " ")
}

// main is the visible text of the page's main content.
func (b *browser) main() string { b.t.Helper(); return b.text("main") }

// location is the page's path and query.
func (b *browser) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	return loc
}

// login signs in through the login form.
func (b *browser) login(user, password string) {
	b.t.Helper()
	b.visit("/login")
	b.fill("#principal", user)
	b.fill("#password", password)
	b.click(`form[action$="/login"] button[type=submit]`)
	require.Equal(b.t, "/projects", b.location(), "after login: %s", b.main())
}

// axeViolation is one rule axe-core found broken.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axe runs axe-core in the page and fails on serious or critical
// violations, listing each with the elements it found.
func (b *browser) axe() {
	b.t.Helper()
	require.Empty(b.t, b.violations(), "accessibility violations on %s", b.location())
}

// violations are the serious and critical findings of axe-core on the
// page.
func (b *browser) violations() []string {
	b.t.Helper()
	src, err := os.ReadFile(filepath.Join("node_modules", "axe-core", "axe.min.js"))
	require.NoError(b.t, err, "axe-core is installed by `npm ci --prefix ui/browsertest` (.ci/run does it)")
	eval[bool](b, string(src)+";true")
	raw := eval[string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise)
	var vs []axeViolation
	require.NoError(b.t, json.Unmarshal([]byte(raw), &vs))
	var bad []string
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, fmt.Sprint(n.Target...))
			}
			bad = append(bad, fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(where, ", ")))
		}
	}
	return bad
}

// shot saves a screenshot as docs/screenshots/name.jpg when
// BERTH_SCREENSHOTS is set (the committed ones are made that way).
func (b *browser) shot(name string) {
	b.t.Helper()
	if os.Getenv("BERTH_SCREENSHOTS") == "" {
		return
	}
	img, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(85))
	require.NoError(b.t, err)
	dir := filepath.Join("..", "..", "docs", "screenshots")
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, name+".jpg"), img, 0o644))
}
