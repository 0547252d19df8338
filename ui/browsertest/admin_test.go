package browsertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
	"github.com/berthlabs/berth/server"
)

// registryGet is a GET of the registry API (/v2/...) as the admin; it
// returns the status and the body.
func registryGet(t *testing.T, site *portaltest.Site, path, accept string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, site.URL+"/v2/"+path, nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", portaltest.AdminPassword)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// An administrator asks for a dry run of garbage collection from the
// page: it reports what it would free, deletes nothing, and the history
// says it was a dry run. The audit log shows the pushes and the deletion,
// and its filter form narrows it to one operation.
func TestGCDryRunAndAuditLog(t *testing.T) {
	// No grace window: blobs pushed a moment ago may be collected.
	site := portaltest.Start(t, func(c *server.Config) { c.GC.GraceWindow = time.Nanosecond })
	site.CreateProject(t, "gcp", false)
	kept := site.PushImage(t, "gcp/app", "v1", 2048)
	gone := site.PushImage(t, "gcp/app", "v2", 4096)
	status, raw := registryGet(t, site, "gcp/app/manifests/"+gone, "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	require.Equal(t, http.StatusOK, status)
	var manifest struct {
		Layers []struct {
			Digest string `json:"digest"`
		} `json:"layers"`
	}
	require.NoError(t, json.Unmarshal(raw, &manifest))
	require.NotEmpty(t, manifest.Layers)
	layer := manifest.Layers[0].Digest
	site.API(t, http.MethodDelete, "/projects/gcp/repositories/app/artifacts/"+gone, nil, nil)

	b := newBrowser(t, site.URL)
	b.login("admin", portaltest.AdminPassword)
	b.visit("/admin/gc")
	assert.Contains(t, b.main(), "No garbage collection has run yet.")
	b.axe()
	b.click(`button[name=dry_run][value=true]`)
	assert.Regexp(t, `^/admin/gc/\d+$`, b.location())
	assert.Contains(t, b.main(), "Dry run started.")

	// The run page refreshes itself; poll it until the run has ended.
	deadline := time.Now().Add(20 * time.Second)
	for eval[bool](b, `!!document.querySelector("[data-refresh]")`) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		b.visit(b.location())
	}
	page := b.main()
	require.NotContains(t, page, "Running", "the run has ended")
	assert.Contains(t, page, "Success")
	assert.Contains(t, page, "What would be deleted")
	assert.Regexp(t, `Would delete \d+ manifests and [1-9]\d* blobs, freeing [1-9][0-9.]* KiB\.`, page)
	assert.Contains(t, page, "Nothing was deleted: this was a dry run.")
	assert.Contains(t, b.text("dl.facts"), "Dry run")
	assert.Contains(t, b.text("pre.log"), "blob "+layer, "the log names the deleted image's layer among the blobs it would delete")
	b.axe()

	// The history marks it a dry run, and so does the API.
	b.click(`.crumbs a[href$="/admin/gc"]`)
	row := b.text("main table tbody tr")
	assert.Contains(t, row, "Success")
	assert.Contains(t, row, "Dry run")
	assert.Regexp(t, `Would delete \d+ manifests and [1-9]\d* blobs`, row)
	var runs []struct {
		JobParameters string `json:"job_parameters"`
		JobStatus     string `json:"job_status"`
	}
	site.API(t, http.MethodGet, "/system/gc", nil, &runs)
	require.Len(t, runs, 1)
	assert.Contains(t, runs[0].JobParameters, `"dry_run":true`)

	// The dry run deleted nothing: the deleted artifact's layer, which it
	// would delete, is still stored.
	status, _ = registryGet(t, site, "gcp/app/blobs/"+layer, "")
	assert.Equal(t, http.StatusOK, status, "the layer %s is still there", layer)

	// The audit log: both pushes and the deletion (written a moment
	// later, in batches).
	b.visit("/admin/audit")
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(b.main(), "delete") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		b.visit("/admin/audit")
	}
	rows := b.rows("main table")
	var pushes []string
	deletes := 0
	for _, r := range rows {
		switch {
		case strings.Contains(r, " gcp/app:") && strings.Contains(r, " push "):
			pushes = append(pushes, strings.Fields(r)[1])
		case strings.Contains(r, "gcp/app") && strings.Contains(r, " delete "):
			deletes++
			assert.Contains(t, r, gone[:19], "the deleted artifact's digest")
		}
	}
	assert.ElementsMatch(t, []string{"gcp/app:v2@" + gone, "gcp/app:v1@" + kept}, pushes, "the two pushes, in %q", rows)
	assert.GreaterOrEqual(t, deletes, 1, "the deletion, in %q", rows)
	b.axe()

	// Filter by the operation through the form: only deletions remain.
	b.fill("#au-op", "delete")
	b.click(`form.filters button[type=submit]`)
	assert.Contains(t, b.location(), "operation=delete")
	assert.Equal(t, "delete", eval[string](b, `document.querySelector("#au-op").value`), "the field keeps the filter")
	rows = b.rows("main table")
	require.NotEmpty(t, rows)
	for _, r := range rows {
		assert.Contains(t, r, " delete ", "a row the filter should have left out")
		assert.NotContains(t, r, " push ")
	}
	assert.Len(t, rows, deletes, "the deletions the unfiltered log showed, and nothing else: %q", rows)
}

// rows are the visible texts of the body rows of the table sel names,
// spaces folded, each padded with a space at both ends so that a word
// can be matched whole.
func (b *browser) rows(sel string) []string {
	b.t.Helper()
	q, _ := json.Marshal(sel + " tbody tr")
	raw := eval[[]string](b, `Array.from(document.querySelectorAll(`+string(q)+`), tr =>
		Array.from(tr.cells, c => c.innerText).join(" "))`)
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		out = append(out, " "+strings.Join(strings.Fields(r), " ")+" ")
	}
	return out
}
