package harbor_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/go-openapi/runtime"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/require"
)

const knownSDKBugsFile = "testdata/known-sdk-bugs.txt"

// sdkTable writes the coverage table (Markdown) to a file as well, for CI.
var sdkTable = flag.String("sdk-table", "", "write TestSDKCoverage's coverage table (Markdown) to this file")

// sdkCall drives one Harbor operation through go-client; an error says
// it did not succeed (a status, an answer go-client cannot decode, a
// failed check, or a failed set-up).
type sdkCall func(ctx context.Context, f *fixture) error

// sdkCalls is every operation's call, by Harbor operationId: one entry per
// operation, grouped by tag in the sdk_ops_*_test.go files.
func sdkCalls(t testing.TB) map[string]sdkCall {
	all := map[string]sdkCall{}
	for _, part := range []map[string]sdkCall{
		projectCalls(), repositoryCalls(), artifactCalls(), memberCalls(), userCalls(), robotCalls(),
		systemCalls(), jobCalls(), replicationCalls(), scanCalls(), webhookCalls(), policyCalls(),
		preheatCalls(), ldapCalls(), oidcCalls(),
	} {
		for id := range part {
			_, dup := all[id]
			require.False(t, dup, "%s has two calls", id)
		}
		maps.Copy(all, part)
	}
	return all
}

// rawChecks check the raw answer against Harbor's swagger for operations
// go-client cannot decode because of a bug of its own
// (testdata/known-sdk-bugs.txt).
func rawChecks() map[string]sdkCall {
	return map[string]sdkCall{"getVulnerabilitiesAddition": rawVulnerabilities, "getAddition": rawBuildHistory}
}

// setupError is a failure to prepare an operation's call, not of the
// operation itself.
type setupError struct{ err error }

func (e setupError) Error() string { return "set-up: " + e.err.Error() }
func (e setupError) Unwrap() error { return e.err }

// checkError is an answer that decoded but says something wrong.
type checkError string

func (e checkError) Error() string { return "check: " + string(e) }

func checkf(format string, args ...any) error { return checkError(fmt.Sprintf(format, args...)) }

// outcome is what one operation's call did.
type outcome struct {
	op     harborOp
	served bool   // in berth's OpenAPI document
	called bool   // the table has a call for it
	result string // ok, HTTP nnn, decode, set-up, check, error
	note   string
	status int  // of the answer that did not decode
	raw    bool // go-client could not decode it (a bug of its own); the raw JSON matched
}

func (o outcome) ok() bool { return o.result == "ok" }

var statusInError = regexp.MustCompile(`\]\[(\d{3})\]`)

// classify names what an error of a go-client call means.
func classify(err error) (result, note string) {
	if err == nil {
		return "ok", ""
	}
	note = strings.Join(strings.Fields(err.Error()), " ")
	if len(note) > 300 {
		note = note[:300] + "..."
	}
	var apiErr *runtime.APIError
	var setup setupError
	var check checkError
	var typed interface{ IsCode(int) bool }
	switch {
	case errors.As(err, &setup):
		return "set-up", note
	case errors.As(err, &check):
		return "check", note
	case errors.As(err, &apiErr):
		return fmt.Sprintf("HTTP %d", apiErr.Code), note
	case errors.As(err, &typed):
		if m := statusInError.FindStringSubmatch(err.Error()); m != nil {
			return "HTTP " + m[1], strings.TrimPrefix(payloadText(err), "HTTP "+m[1]+": ")
		}
		return "HTTP error", note
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", note
	}
	return "decode", note
}

// payloadText renders the Harbor error payload of a go-client typed
// error (which prints as a pointer), or the error's text.
func payloadText(err error) string {
	var typed interface{ GetPayload() *models.Errors }
	if !errors.As(err, &typed) || typed.GetPayload() == nil {
		return err.Error()
	}
	var msgs []string
	for _, e := range typed.GetPayload().Errors {
		if e != nil {
			msgs = append(msgs, e.Code+": "+e.Message)
		}
	}
	text := strings.Join(msgs, "; ")
	if m := statusInError.FindStringSubmatch(err.Error()); m != nil {
		text = "HTTP " + m[1] + ": " + text
	}
	return text
}

// TestSDKCoverage drives every Harbor operation through go-client against
// the server and prints the coverage table (go test -run TestSDKCoverage
// -v). Every operation berth serves must succeed and decode, except
// those in testdata/known-sdk-bugs.txt, whose raw answer is checked
// instead (and must match).
func TestSDKCoverage(t *testing.T) {
	ops := harborOps(t)
	served := servedOps(t)
	calls := sdkCalls(t)
	for id := range calls {
		_, ok := ops[id]
		require.True(t, ok, "the call table names %s, which Harbor's swagger does not have", id)
	}
	knownBugs := readReasons(t, knownSDKBugsFile)
	raw := rawChecks()

	t.Logf("LDAP directory: %v", ldapOn)
	f := newFixture(t)
	defer f.close()
	var outcomes []outcome
	for _, op := range sortedOps(ops) {
		_, isServed := served[op.key()]
		o := outcome{op: op, served: isServed}
		call, ok := calls[op.ID]
		switch {
		case op.Tag == "Ldap" && !ldapOn:
			o.result, o.note = "skipped", "slapd is not installed: the test server has no directory"
		case ok:
			o.called = true
			ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
			f.statuses.last = 0
			o.result, o.note = classify(call(ctx, f))
			o.status = f.statuses.last
			cancel()
			if o.result == "decode" && knownBugs[op.ID] != "" && raw[op.ID] != nil {
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				if err := raw[op.ID](ctx, f); err == nil {
					o.result, o.raw = "ok", true
					o.note = "go-client bug (" + knownBugs[op.ID] + "); the raw answer matches the swagger"
				} else {
					o.note += "; raw answer: " + err.Error()
				}
				cancel()
			}
		default:
			o.result, o.note = "no call", "go-client cannot call it"
		}
		outcomes = append(outcomes, o)
	}
	table := coverageTable(outcomes, len(ops))
	t.Log("\n" + table)
	if *sdkTable != "" {
		require.NoError(t, os.WriteFile(*sdkTable, []byte(table), 0o644))
	}

	for _, o := range outcomes {
		switch {
		case o.result == "skipped":
		case o.served && !o.ok():
			t.Errorf("%s (%s %s) is served but its SDK call failed: %s: %s", o.op.ID, o.op.Method, o.op.Path, o.result, o.note)
		case !o.served && o.ok():
			t.Logf("%s succeeds although berth's OpenAPI document does not list it", o.op.ID)
		}
	}
}

// coverageTable renders the outcomes as a Markdown table with totals:
// served (in berth's document), succeeded (a 2xx answer), decoded (into
// go-client's typed answer); "-" where the call did not get that far.
func coverageTable(outcomes []outcome, total int) string {
	var b strings.Builder
	b.WriteString("| tag | operationId | served | succeeded | decoded | result | note |\n|---|---|---|---|---|---|---|\n")
	servedN, okN := 0, 0
	for _, o := range outcomes {
		served := "no"
		if o.served {
			served = "yes"
			servedN++
			if o.ok() {
				okN++
			}
		}
		succeeded, decoded := "-", "-"
		switch {
		case o.raw:
			succeeded, decoded = "yes", "raw JSON"
		case o.result == "ok" || o.result == "check":
			succeeded, decoded = "yes", "yes"
		case o.result == "decode" && o.status/100 == 2:
			succeeded, decoded = "yes", "no"
		case o.result == "decode":
			succeeded, decoded = fmt.Sprintf("no (%d)", o.status), "no"
		case strings.HasPrefix(o.result, "HTTP"):
			succeeded = "no"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", o.op.Tag, o.op.ID, served, succeeded, decoded, o.result,
			strings.ReplaceAll(o.note, "|", `\|`))
	}
	fmt.Fprintf(&b, "\n%d of %d operations served and decoded (%d served).\n", okN, total, servedN)
	return b.String()
}
