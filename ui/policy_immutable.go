package ui

import (
	"net/http"
	"strings"
)

// immutableRule is a tag immutability rule, as the API has it.
type immutableRule struct {
	ID             int64                          `json:"id"`
	ProjectID      int64                          `json:"project_id"`
	Priority       int                            `json:"priority"`
	Disabled       bool                           `json:"disabled"`
	Action         string                         `json:"action"`
	Template       string                         `json:"template"`
	TagSelectors   []retentionSelector            `json:"tag_selectors"`
	ScopeSelectors map[string][]retentionSelector `json:"scope_selectors"`
}

// Repo and Tag are the rule's first repository and tag selectors (the
// ones the page edits).
func (r immutableRule) Repo() selectorText { return firstSelector(r.ScopeSelectors["repository"]) }
func (r immutableRule) Tag() selectorText  { return firstSelector(r.TagSelectors) }

func firstSelector(ss []retentionSelector) selectorText {
	if len(ss) == 0 {
		return selectorText{"ret.matching", "**"}
	}
	return selectorText{decorationKey(ss[0].Decoration), ss[0].Pattern}
}

// immutableRuleForm is the add/edit form of an immutability rule.
type immutableRuleForm struct {
	Project        *project
	ID             int64 // 0 for a new rule
	RepoDecoration string
	RepoPattern    string
	TagDecoration  string
	TagPattern     string
}

// immutableRuleOf finds rule id among the project's (at most 15, so one
// page of the API's list holds them all).
func immutableRuleOf(s *session, projectID, id int64) (*immutableRule, error) {
	var rules []immutableRule
	if _, err := s.api.get("/projects/"+itoa(projectID)+"/immutabletagrules?page_size=100", &rules); err != nil {
		return nil, err
	}
	for i := range rules {
		if rules[i].ID == id {
			return &rules[i], nil
		}
	}
	return nil, nil
}

func (u *UI) noImmutableRule(r *http.Request) error {
	return &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "immu.norule")}
}

// immutableRulePage shows the form, empty under rules/new.
func (u *UI) immutableRulePage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	f := immutableRuleForm{Project: p, RepoDecoration: "repoMatches", RepoPattern: "**", TagDecoration: "matches", TagPattern: "**"}
	title := "immu.addrule"
	if r.PathValue("rid") != "new" {
		id, ok := pathNumber(r, "rid")
		var rule *immutableRule
		var err error
		if ok {
			rule, err = immutableRuleOf(s, p.ProjectID, id)
		}
		if err == nil && rule == nil {
			err = u.noImmutableRule(r)
		}
		if err != nil {
			u.failed(w, r, s, err)
			return
		}
		f.ID, title = rule.ID, "immu.editrule"
		if ss := rule.ScopeSelectors["repository"]; len(ss) > 0 {
			f.RepoDecoration, f.RepoPattern = ss[0].Decoration, ss[0].Pattern
		}
		if len(rule.TagSelectors) > 0 {
			f.TagDecoration, f.TagPattern = rule.TagSelectors[0].Decoration, rule.TagSelectors[0].Pattern
		}
	}
	u.render(w, r, 0, "policy_immurule", projectView(s, p, "policy", title, f))
}

// saveImmutableRule adds a rule (POST rules) or changes rule {rid},
// keeping whether it is enabled.
func (u *UI) saveImmutableRule(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	base := "/projects/" + itoa(p.ProjectID) + "/immutabletagrules"
	back := "/projects/" + itoa(p.ProjectID) + "/policy/immutability/rules/new"
	rid := r.PathValue("rid")
	if rid != "" {
		back = "/projects/" + itoa(p.ProjectID) + "/policy/immutability/rules/" + esc(rid)
	}
	f := r.PostForm
	repoDec, tagDec := f.Get("repo_decoration"), f.Get("tag_decoration")
	if (repoDec != "repoMatches" && repoDec != "repoExcludes") || (tagDec != "matches" && tagDec != "excludes") {
		u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "ret.badform")))
		return
	}
	rule := immutableRule{Action: "immutable", Template: "immutable_template",
		TagSelectors: []retentionSelector{{Kind: "doublestar", Decoration: tagDec, Pattern: strings.TrimSpace(f.Get("tag_pattern"))}},
		ScopeSelectors: map[string][]retentionSelector{"repository": {{Kind: "doublestar", Decoration: repoDec,
			Pattern: strings.TrimSpace(f.Get("repo_pattern"))}}}}
	var err error
	if rid == "" {
		_, err = s.api.send(http.MethodPost, base, rule, nil)
	} else {
		id, ok := pathNumber(r, "rid")
		var cur *immutableRule
		if ok {
			cur, err = immutableRuleOf(s, p.ProjectID, id)
		}
		if err == nil && cur == nil {
			err = u.noImmutableRule(r)
		}
		if err == nil {
			rule.ID, rule.Disabled, rule.Priority = cur.ID, cur.Disabled, cur.Priority
			_, err = s.api.send(http.MethodPut, base+"/"+itoa(id), rule, nil)
		}
	}
	if err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, policyPath(p.ProjectID, "immutability"), "immu.saved", nil)
}

// changeImmutableRule is POST rules/{rid}/delete and rules/{rid}/toggle
// (form field disabled=true|false: the API changes only the flag when
// the body has no selectors).
func (u *UI) changeImmutableRule(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	back := policyPath(p.ProjectID, "immutability")
	id, ok := pathNumber(r, "rid")
	if !ok {
		u.redirect(w, r, back, "", u.noImmutableRule(r))
		return
	}
	path := "/projects/" + itoa(p.ProjectID) + "/immutabletagrules/" + itoa(id)
	var err error
	flash := "immu.deleted"
	if strings.HasSuffix(r.URL.Path, "/toggle") {
		disabled := r.PostForm.Get("disabled") == "true"
		_, err = s.api.send(http.MethodPut, path, map[string]bool{"disabled": disabled}, nil)
		flash = "immu.enabled"
		if disabled {
			flash = "immu.disabled"
		}
	} else {
		_, err = s.api.send(http.MethodDelete, path, nil, nil)
	}
	u.redirect(w, r, back, flash, err)
}
