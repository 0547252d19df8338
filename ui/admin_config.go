package ui

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// configSettings are the settings the configuration page knows how to
// name, by group, in the order shown: the key GET /configurations reports
// and its label's catalog key. A setting the API reports that is not
// here is shown under its key, so none is hidden.
var configSettings = [...]struct{ group, key, label string }{
	{"auth", "auth_mode", "config.auth_mode"},
	{"auth", "primary_auth_mode", "config.primary_auth_mode"},
	{"auth", "self_registration", "config.self_registration"},
	{"auth", "ldap_url", "config.ldap_url"},
	{"auth", "ldap_base_dn", "config.ldap_base_dn"},
	{"auth", "ldap_search_dn", "config.ldap_search_dn"},
	{"auth", "ldap_filter", "config.ldap_filter"},
	{"auth", "ldap_uid", "config.ldap_uid"},
	{"auth", "ldap_scope", "config.ldap_scope"},
	{"auth", "ldap_timeout", "config.ldap_timeout"},
	{"auth", "ldap_verify_cert", "config.ldap_verify_cert"},
	{"auth", "ldap_group_base_dn", "config.ldap_group_base_dn"},
	{"auth", "ldap_group_search_filter", "config.ldap_group_search_filter"},
	{"auth", "ldap_group_attribute_name", "config.ldap_group_attribute_name"},
	{"auth", "ldap_group_admin_dn", "config.ldap_group_admin_dn"},
	{"auth", "oidc_name", "config.oidc_name"},
	{"auth", "oidc_endpoint", "config.oidc_endpoint"},
	{"auth", "oidc_client_id", "config.oidc_client_id"},
	{"auth", "oidc_scope", "config.oidc_scope"},
	{"auth", "oidc_groups_claim", "config.oidc_groups_claim"},
	{"auth", "oidc_admin_group", "config.oidc_admin_group"},
	{"auth", "oidc_user_claim", "config.oidc_user_claim"},
	{"auth", "oidc_verify_cert", "config.oidc_verify_cert"},
	{"auth", "oidc_auto_onboard", "config.oidc_auto_onboard"},
	{"system", "project_creation_restriction", "config.project_creation_restriction"},
	{"system", "robot_token_duration", "config.robot_token_duration"},
	{"system", "robot_name_prefix", "config.robot_name_prefix"},
	{"system", "read_only", "config.read_only"},
	{"system", "notification_enable", "config.notification_enable"},
	{"system", "quota_per_project_enable", "config.quota_per_project_enable"},
	{"system", "storage_per_project", "config.storage_per_project"},
	{"system", "token_expiration", "config.token_expiration"},
	{"system", "session_timeout", "config.session_timeout"},
	{"system", "audit_log_forward_endpoint", "config.audit_log_forward_endpoint"},
	{"system", "skip_audit_log_database", "config.skip_audit_log_database"},
	{"system", "banner_message", "config.banner_message"},
}

// setting is one reported setting as the page shows it.
type setting struct {
	Key, Label string // Label is a catalog key, or "" to show Key
	Kind       string // string, bool or int
	Value      any
	Editable   bool
}

// Text is the value as a form field or the page shows it.
func (s setting) Text() string {
	switch v := s.Value.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// On tells whether a bool setting is true.
func (s setting) On() bool { return s.Value == true }

type configView struct {
	Auth, System []setting
}

// settingGroup is one section of the page.
type settingGroup struct {
	ID, Title string
	Settings  []setting
}

// Groups are the page's sections: authentication, then the system's.
func (v configView) Groups() []settingGroup {
	return []settingGroup{{"cfg-auth", "config.auth", v.Auth}, {"cfg-system", "config.system", v.System}}
}

// Editable tells whether the form has anything to save.
func (v configView) Editable() bool {
	for _, st := range append(v.Auth[:len(v.Auth):len(v.Auth)], v.System...) {
		if st.Editable {
			return true
		}
	}
	return false
}

// readConfig reads GET /configurations into its groups.
func readConfig(s *session) (configView, map[string]setting, error) {
	var v configView
	a, err := s.api.get("/configurations", nil)
	if err != nil {
		return v, nil, err
	}
	var raw map[string]struct {
		Value    json.RawMessage `json:"value"`
		Editable bool            `json:"editable"`
	}
	if err := json.Unmarshal(a.body.Bytes(), &raw); err != nil {
		return v, nil, err
	}
	all := map[string]setting{}
	for k, it := range raw {
		st := setting{Key: k, Editable: it.Editable}
		d := json.NewDecoder(strings.NewReader(string(it.Value)))
		d.UseNumber()
		_ = d.Decode(&st.Value)
		switch st.Value.(type) {
		case bool:
			st.Kind = "bool"
		case json.Number:
			st.Kind = "int"
		default:
			st.Kind = "string"
		}
		all[k] = st
	}
	known := map[string]bool{}
	for _, c := range configSettings {
		known[c.key] = true
		if st, ok := all[c.key]; ok {
			st.Label = c.label
			if c.group == "auth" {
				v.Auth = append(v.Auth, st)
			} else {
				v.System = append(v.System, st)
			}
		}
	}
	var rest []string
	for k := range all {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if strings.HasPrefix(k, "ldap_") || strings.HasPrefix(k, "oidc_") {
			v.Auth = append(v.Auth, all[k])
		} else {
			v.System = append(v.System, all[k])
		}
	}
	return v, all, nil
}

func (u *UI) configPage(w http.ResponseWriter, r *http.Request, s *session) {
	v, _, err := readConfig(s)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	u.render(w, r, 0, "admin_config", adminView(s, "config", "config.title", v))
}

// saveConfig sends the editable settings the form carries, typed as the
// API reports them (an unchecked box is false).
func (u *UI) saveConfig(w http.ResponseWriter, r *http.Request, s *session) {
	_, all, err := readConfig(s)
	if err != nil {
		u.redirect(w, r, "/admin/config", "", err)
		return
	}
	body := map[string]any{}
	for k, st := range all {
		if !st.Editable {
			continue
		}
		val := strings.TrimSpace(r.PostForm.Get(k))
		switch st.Kind {
		case "bool":
			body[k] = val == "true"
		case "int":
			if val == "" {
				continue
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				u.redirect(w, r, "/admin/config", "", errorText(u.cat.text(language(r), "config.badnumber", k)))
				return
			}
			body[k] = n
		default:
			if _, sent := r.PostForm[k]; sent {
				body[k] = val
			}
		}
	}
	if _, err := s.api.send(http.MethodPut, "/configurations", body, nil); err != nil {
		u.redirect(w, r, "/admin/config", "", err)
		return
	}
	u.redirect(w, r, "/admin/config", "config.saved", nil)
}
