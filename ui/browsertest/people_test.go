package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
)

// row is the visible text of the first row of the table sel names whose
// first cell reads first ("" when there is none), spaces folded.
func (b *browser) row(sel, first string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel + " tbody tr")
	f, _ := json.Marshal(first)
	s := eval[string](b, `(() => { for (const tr of document.querySelectorAll(`+string(q)+`)) {
		const td = tr.querySelector("td");
		if (td && td.innerText.trim() === `+string(f)+`) return tr.innerText;
	} return ""; })()`)
	return strings.Join(strings.Fields(s), " ")
}

// A project admin adds a user as Guest and makes her a Developer; then
// creates a robot account, copies its secret once, and the registry
// takes that secret.
func TestMembersAndRobot(t *testing.T) {
	site := portaltest.Start(t)
	site.API(t, http.MethodPost, "/users", map[string]any{"username": "alice", "email": "alice@example.com",
		"realname": "Alice Liddell", "password": "Alice-Pass-123"}, nil)
	id := site.CreateProject(t, "team", false)

	b := newBrowser(t, site.URL)
	b.login("admin", portaltest.AdminPassword)
	b.visit(fmt.Sprintf("/projects/%d/summary", id))
	b.click(`nav.tabs a[href$="/members"]`)
	require.Equal(t, fmt.Sprintf("/projects/%d/members", id), b.location())
	assert.Empty(t, b.row("main table", "alice"), "alice is not a member yet")

	// Add alice as Guest through the form.
	b.open("new-member")
	b.fill("#mname", "alice")
	b.choose("#mrole", "3")
	b.click(`#new-member button[type=submit]`)
	assert.Contains(t, b.main(), "Member added.")
	assert.Equal(t, "alice User Guest", firstCells(b.row("main table", "alice"), 3))
	b.axe()

	type member struct {
		ID         int64  `json:"id"`
		EntityName string `json:"entity_name"`
		RoleID     int    `json:"role_id"`
	}
	alice := func() member {
		var ms []member
		site.API(t, http.MethodGet, fmt.Sprintf("/projects/%d/members", id), nil, &ms)
		for _, m := range ms {
			if m.EntityName == "alice" {
				return m
			}
		}
		t.Fatalf("alice is not a member: %+v", ms)
		return member{}
	}
	m := alice()
	assert.Equal(t, 3, m.RoleID, "the API has her as Guest")

	// Make her a Developer with her row's select and button.
	sel := fmt.Sprintf("#role-%d", m.ID)
	assert.Equal(t, "3", eval[string](b, `document.querySelector("`+sel+`").value`), "her select shows her role")
	b.choose(sel, "2")
	b.click(`button[aria-label="Set the role of alice"]`)
	assert.Contains(t, b.main(), "Role changed.")
	assert.Equal(t, "alice User Developer", firstCells(b.row("main table", "alice"), 3))
	assert.Equal(t, "2", eval[string](b, `document.querySelector("`+sel+`").value`))
	assert.Equal(t, 2, alice().RoleID, "the API has her as Developer")

	// A robot account that never expires, with the default permissions.
	b.click(`nav.tabs a[href$="/robots"]`)
	assert.Contains(t, b.main(), "Robot Accounts")
	b.open("new-robot")
	b.fill("#rname", "ci")
	b.press("#rnever")
	assert.True(t, eval[bool](b, `document.querySelector('#new-robot input[value="repository:pull"]').checked`), "pull is ticked by default")
	b.click(`#new-robot button[type=submit]`)
	page := b.main()
	assert.Contains(t, page, "Robot account created.")
	assert.Contains(t, page, "it will not be shown again")
	name := b.text("#robot-name")
	assert.Equal(t, "robot$team+ci", name)
	secret := eval[string](b, `document.querySelector("#robot-secret").value`)
	require.NotEmpty(t, secret)
	b.axe()

	// The copy button puts exactly the secret on the clipboard (chromium
	// names the permissions clipboard-read and clipboard-write; it refuses
	// the spec's clipboard-read-write).
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: perm}, Setting: cdpbrowser.PermissionSettingGranted, Origin: site.URL})
		require.NoError(t, err, "granting %s", perm)
	}
	assert.Empty(t, eval[string](b, `document.querySelector("[data-copy]").getAttribute("data-copied") || ""`))
	b.press(`button[data-copy="robot-secret"]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`button[data-copy][data-copied="true"]`)))
	assert.Equal(t, "Copied", b.text("#toast"), "the toast says so")
	assert.Equal(t, secret, eval[string](b, `navigator.clipboard.readText()`, chromedp.EvalAwaitPromise), "the clipboard holds the secret")

	// The secret works: the registry lets the robot in.
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, site.URL+"/v2/", nil)
	require.NoError(t, err)
	req.SetBasicAuth(name, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "GET /v2/ as %s", name)

	// Back on the list: the robot is there, its secret is not.
	b.click(`.panel a[href$="/robots"]`)
	require.Equal(t, fmt.Sprintf("/projects/%d/robots", id), b.location())
	row := b.row("main table", name)
	assert.Contains(t, row, "Enabled")
	assert.Contains(t, row, "Never")
	html := eval[string](b, `document.documentElement.outerHTML`)
	assert.NotContains(t, html, secret, "the secret is shown once only")
}

// firstCells is the first n words of a row's text: its leading cells.
func firstCells(row string, n int) string {
	f := strings.Fields(row)
	return strings.Join(f[:min(n, len(f))], " ")
}
