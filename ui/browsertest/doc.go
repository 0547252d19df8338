// Package browsertest drives the web portal (package ui) in a real
// browser: Debian's chromium, through the DevTools protocol
// (github.com/chromedp/chromedp), against reference servers started in
// the test process. Each test does what a user does (log in, fill a
// form, click) and asserts what the page then shows; every top-level
// page is also checked with axe-core (from npm, run inside the page) for
// serious or critical accessibility violations.
//
// It is a module of its own so that the main module does not require the
// browser driver. Run it with .ci/run, or:
//
//	npm ci --prefix ui/browsertest && go test ./ui/browsertest/
//
// BERTH_SCREENSHOTS=1 also writes the screenshots in docs/screenshots.
// Nothing here downloads a browser: a missing chromium fails the tests.
package browsertest
