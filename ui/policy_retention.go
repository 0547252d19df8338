package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// retentionRuleForm is the add/edit form of a retention rule.
type retentionRuleForm struct {
	Project        *project
	N              int // the rule's position, 0 for a new rule
	RepoDecoration string
	RepoPattern    string
	TagDecoration  string
	TagPattern     string
	Untagged       bool
	Template       string
	Param          string
	Templates      []retentionTemplate
}

// retentionRulePage shows the form: empty (Harbor's defaults) under
// rules/new, filled from the policy under rules/{n}.
func (u *UI) retentionRulePage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	f := retentionRuleForm{Project: p, RepoDecoration: "repoMatches", RepoPattern: "**", TagDecoration: "matches",
		TagPattern: "**", Untagged: true, Template: "latestPushedK", Param: "10", Templates: retentionTemplates()}
	title := "ret.addrule"
	if r.PathValue("n") != "new" {
		n, ok := pathNumber(r, "n")
		pol, err := readRetention(s, p.ProjectID)
		if err != nil {
			u.failed(w, r, s, err)
			return
		}
		if !ok || pol == nil || int(n) > len(pol.Rules) {
			u.failed(w, r, s, u.noRule(r))
			return
		}
		rule := pol.Rules[n-1]
		f.N, f.Template, f.Param, title = int(n), rule.Template, "", "ret.editrule"
		if v, ok := intParam(rule.Params[rule.Template]); ok {
			f.Param = strconv.Itoa(v)
		}
		if repos := rule.ScopeSelectors["repository"]; len(repos) > 0 {
			f.RepoDecoration, f.RepoPattern = repos[0].Decoration, repos[0].Pattern
		}
		f.Untagged = false
		if tag, ok := firstTagSelector(rule.TagSelectors); ok {
			f.TagDecoration, f.TagPattern = tag.Decoration, tag.Pattern
			f.Untagged = strings.Contains(strings.ReplaceAll(tag.Extras, " ", ""), `"untagged":true`)
		}
	}
	u.render(w, r, 0, "policy_retrule", projectView(s, p, "policy", title, f))
}

func (u *UI) noRule(r *http.Request) error {
	return &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "ret.norule")}
}

// saveRetentionRule adds a rule (POST rules) or replaces rule {n}; the
// first rule of a project creates its policy.
func (u *UI) saveRetentionRule(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	back := "/projects/" + itoa(p.ProjectID) + "/policy/retention/rules/new"
	n := int64(0)
	if r.PathValue("n") != "" {
		if n, ok = pathNumber(r, "n"); !ok {
			u.failed(w, r, s, u.noRule(r))
			return
		}
		back = "/projects/" + itoa(p.ProjectID) + "/policy/retention/rules/" + itoa(n)
	}
	f := r.PostForm
	tpl, known := findTemplate(f.Get("template"))
	repoDec, tagDec := f.Get("repo_decoration"), f.Get("tag_decoration")
	if !known || (repoDec != "repoMatches" && repoDec != "repoExcludes") || (tagDec != "matches" && tagDec != "excludes") {
		u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "ret.badform")))
		return
	}
	params := map[string]any{}
	if tpl.Unit != "" {
		v, err := strconv.Atoi(strings.TrimSpace(f.Get("param")))
		if err != nil {
			u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "ret.badparam")))
			return
		}
		params[tpl.ID] = v
	}
	repo := retentionSelector{Kind: "doublestar", Decoration: repoDec, Pattern: strings.TrimSpace(f.Get("repo_pattern"))}
	tag := retentionSelector{Kind: "doublestar", Decoration: tagDec, Pattern: strings.TrimSpace(f.Get("tag_pattern")),
		Extras: fmt.Sprintf(`{"untagged":%t}`, f.Get("untagged") == "true")}
	edit := func(rule *retentionRule) {
		rule.Action, rule.Template, rule.Params = "retain", tpl.ID, params
		if rule.ScopeSelectors == nil {
			rule.ScopeSelectors = map[string][]retentionSelector{}
		}
		if repos := rule.ScopeSelectors["repository"]; len(repos) > 0 {
			repos[0] = repo
		} else {
			rule.ScopeSelectors["repository"] = []retentionSelector{repo}
		}
		if i := firstTagIndex(rule.TagSelectors); i >= 0 {
			rule.TagSelectors[i] = tag
		} else {
			rule.TagSelectors = append([]retentionSelector{tag}, rule.TagSelectors...)
		}
	}
	pol, err := readRetention(s, p.ProjectID)
	switch {
	case err != nil:
	case pol == nil && n == 0:
		var rule retentionRule
		edit(&rule)
		err = createRetention(s, p.ProjectID, []retentionRule{rule}, "")
	case pol == nil || int(n) > len(pol.Rules):
		err = u.noRule(r)
	case n == 0:
		var rule retentionRule
		edit(&rule)
		pol.Rules = append(pol.Rules, rule)
		err = putRetention(s, pol)
	default:
		edit(&pol.Rules[n-1])
		err = putRetention(s, pol)
	}
	if err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, policyPath(p.ProjectID, "retention"), "ret.saved", nil)
}

// createRetention creates the project's policy.
func createRetention(s *session, projectID int64, rules []retentionRule, cron string) error {
	body := map[string]any{"algorithm": "or", "rules": rules,
		"trigger": retentionTrigger{Kind: "Schedule", Settings: map[string]any{"cron": cron}},
		"scope":   map[string]any{"level": "project", "ref": projectID}}
	_, err := s.api.send(http.MethodPost, "/retentions", body, nil)
	return err
}

// putRetention replaces the policy (its rules and schedule).
func putRetention(s *session, pol *retentionPolicy) error {
	if pol.Trigger != nil {
		pol.Trigger.References = nil // read-only
	}
	if pol.Rules == nil {
		pol.Rules = []retentionRule{}
	}
	_, err := s.api.send(http.MethodPut, "/retentions/"+itoa(pol.ID), pol, nil)
	return err
}

// changeRetentionRule is POST rules/{n}/delete and rules/{n}/toggle
// (form field disabled=true|false).
func (u *UI) changeRetentionRule(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	n, ok := pathNumber(r, "n")
	pol, err := readRetention(s, p.ProjectID)
	if err == nil && (!ok || pol == nil || int(n) > len(pol.Rules)) {
		err = u.noRule(r)
	}
	flash := "ret.deleted"
	if err == nil {
		if strings.HasSuffix(r.URL.Path, "/toggle") {
			pol.Rules[n-1].Disabled, flash = r.PostForm.Get("disabled") == "true", "ret.saved"
		} else {
			pol.Rules = append(pol.Rules[:n-1], pol.Rules[n:]...)
		}
		err = putRetention(s, pol)
	}
	u.redirect(w, r, policyPath(p.ProjectID, "retention"), flash, err)
}

// saveRetentionSchedule sets the policy's schedule (creating a policy
// without rules when the project has none).
func (u *UI) saveRetentionSchedule(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	back := policyPath(p.ProjectID, "retention")
	cron, ok := scheduleCron(r.PostForm.Get("schedule"), r.PostForm.Get("cron"))
	if !ok {
		u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "ret.badcron")))
		return
	}
	pol, err := readRetention(s, p.ProjectID)
	switch {
	case err != nil:
	case pol == nil:
		err = createRetention(s, p.ProjectID, []retentionRule{}, cron)
	default:
		if pol.Trigger == nil {
			pol.Trigger = &retentionTrigger{Kind: "Schedule"}
		}
		pol.Trigger.Settings = map[string]any{"cron": cron}
		err = putRetention(s, pol)
	}
	u.redirect(w, r, back, "ret.schedulesaved", err)
}
