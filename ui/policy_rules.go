package ui

import (
	"strconv"
	"strings"
)

// retentionTemplate is a rule kind: the API's template id, the catalog
// key of its sentence (with %v for its parameter) and its parameter's
// unit ("" for none).
type retentionTemplate struct {
	ID, Key, Unit string
}

// retentionTemplates are the API's rule templates (GET
// /retentions/metadatas lists the same), in Harbor's order.
func retentionTemplates() []retentionTemplate {
	return []retentionTemplate{
		{"latestPushedK", "ret.tpl.latestpushedk", "count"},
		{"latestPulledN", "ret.tpl.latestpulledn", "count"},
		{"latestActiveK", "ret.tpl.latestactivek", "count"},
		{"nDaysSinceLastPush", "ret.tpl.ndayssincelastpush", "days"},
		{"nDaysSinceLastPull", "ret.tpl.ndayssincelastpull", "days"},
		{"lastXDays", "ret.tpl.lastxdays", "days"},
		{"always", "ret.tpl.always", ""},
	}
}

func findTemplate(id string) (retentionTemplate, bool) {
	for _, t := range retentionTemplates() {
		if t.ID == id {
			return t, true
		}
	}
	return retentionTemplate{}, false
}

// ruleRow is a retention rule as the rules table shows it; N is its
// position from 1, which is how the page names a rule (the API's rule
// ids are positions too).
type ruleRow struct {
	N           int
	Disabled    bool
	Repo        selectorText
	Tag         selectorText
	Untagged    bool
	Labels      []selectorText
	KindKey     string
	HasParam    bool
	Param       int
	MoreFilters int // selectors beyond the first, kept but not shown
}

// selectorText is a selector for display: the catalog key of its
// decoration ("matching", "excluding", ...) and its pattern.
type selectorText struct {
	Key, Pattern string
}

// decorationKey is the catalog key of a selector's decoration.
func decorationKey(d string) string {
	switch d {
	case "repoMatches", "matches":
		return "ret.matching"
	case "repoExcludes", "excludes":
		return "ret.excluding"
	case "withLabels":
		return "ret.withlabels"
	case "withoutLabels":
		return "ret.withoutlabels"
	}
	return "ret.matching"
}

func ruleRows(rules []retentionRule) []ruleRow {
	out := make([]ruleRow, 0, len(rules))
	for i, r := range rules {
		row := ruleRow{N: i + 1, Disabled: r.Disabled, Repo: selectorText{"ret.matching", "**"},
			Tag: selectorText{"ret.matching", "**"}, KindKey: "ret.tpl.unknown"}
		if t, ok := findTemplate(r.Template); ok {
			row.KindKey, row.HasParam = t.Key, t.Unit != ""
			row.Param, _ = intParam(r.Params[r.Template])
		}
		repos := r.ScopeSelectors["repository"]
		if len(repos) > 0 {
			row.Repo = selectorText{decorationKey(repos[0].Decoration), repos[0].Pattern}
			row.MoreFilters += len(repos) - 1
		}
		if tag, ok := firstTagSelector(r.TagSelectors); ok {
			row.Tag = selectorText{decorationKey(tag.Decoration), tag.Pattern}
			row.Untagged = strings.Contains(strings.ReplaceAll(tag.Extras, " ", ""), `"untagged":true`)
		}
		tags := 0
		for _, s := range r.TagSelectors {
			if s.Kind == "label" {
				row.Labels = append(row.Labels, selectorText{decorationKey(s.Decoration), s.Pattern})
			} else if tags++; tags > 1 {
				row.MoreFilters++
			}
		}
		out = append(out, row)
	}
	return out
}

// firstTagSelector is the rule's first tag (not label) selector.
func firstTagSelector(ss []retentionSelector) (retentionSelector, bool) {
	if i := firstTagIndex(ss); i >= 0 {
		return ss[i], true
	}
	return retentionSelector{}, false
}

func firstTagIndex(ss []retentionSelector) int {
	for i, s := range ss {
		if s.Kind != "label" {
			return i
		}
	}
	return -1
}

// intParam reads a rule parameter as JSON gives it: a number, or a
// string of digits.
func intParam(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

// Harbor portal's schedule presets (cron with seconds, UTC).
const (
	cronHourly = "0 0 * * * *"
	cronDaily  = "0 0 0 * * *"
	cronWeekly = "0 0 0 * * 0"
)

// scheduleKind is the schedule form's choice for cron.
func scheduleKind(cron string) string {
	switch strings.Join(strings.Fields(cron), " ") {
	case "":
		return "none"
	case cronHourly:
		return "hourly"
	case cronDaily:
		return "daily"
	case cronWeekly:
		return "weekly"
	}
	return "custom"
}

// scheduleCron is the cron of the schedule form's choice; ok is false
// for a choice it does not know or a custom one without a cron.
func scheduleCron(kind, custom string) (string, bool) {
	switch kind {
	case "none":
		return "", true
	case "hourly":
		return cronHourly, true
	case "daily":
		return cronDaily, true
	case "weekly":
		return cronWeekly, true
	case "custom":
		c := strings.Join(strings.Fields(custom), " ")
		return c, c != ""
	}
	return "", false
}
