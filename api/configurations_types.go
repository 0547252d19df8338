package api

import (
	"reflect"
	"strings"
)

// StringConfigItem, IntegerConfigItem and BoolConfigItem are one setting
// as /configurations reports it: its value and whether PUT may change it
// (false for what only the server's configuration file sets).
type StringConfigItem struct {
	Value    string `json:"value"`
	Editable bool   `json:"editable"`
}

// IntegerConfigItem: see StringConfigItem.
type IntegerConfigItem struct {
	Value    int64 `json:"value"`
	Editable bool  `json:"editable"`
}

// BoolConfigItem: see StringConfigItem.
type BoolConfigItem struct {
	Value    bool `json:"value"`
	Editable bool `json:"editable"`
}

// ConfigurationsResponse is what GET /configurations answers: Harbor's
// ConfigurationsResponse, with the settings berth has. Settings of
// features that are not configured (LDAP, OIDC) are left out; secrets
// (ldap_search_password, oidc_client_secret) never appear.
type ConfigurationsResponse struct {
	AuthMode                     *StringConfigItem  `json:"auth_mode,omitempty"`
	PrimaryAuthMode              *BoolConfigItem    `json:"primary_auth_mode,omitempty"`
	ProjectCreationRestriction   *StringConfigItem  `json:"project_creation_restriction,omitempty" doc:"everyone or adminonly; editable"`
	RobotTokenDuration           *IntegerConfigItem `json:"robot_token_duration,omitempty" doc:"days a robot created without a duration lives (-1: never); editable"`
	RobotNamePrefix              *StringConfigItem  `json:"robot_name_prefix,omitempty"`
	SelfRegistration             *BoolConfigItem    `json:"self_registration,omitempty"`
	ReadOnly                     *BoolConfigItem    `json:"read_only,omitempty"`
	NotificationEnable           *BoolConfigItem    `json:"notification_enable,omitempty"`
	QuotaPerProjectEnable        *BoolConfigItem    `json:"quota_per_project_enable,omitempty"`
	StoragePerProject            *IntegerConfigItem `json:"storage_per_project,omitempty"`
	TokenExpiration              *IntegerConfigItem `json:"token_expiration,omitempty"`
	SessionTimeout               *IntegerConfigItem `json:"session_timeout,omitempty"`
	SkipAuditLogDatabase         *BoolConfigItem    `json:"skip_audit_log_database,omitempty"`
	AuditLogForwardEndpoint      *StringConfigItem  `json:"audit_log_forward_endpoint,omitempty"`
	DisabledAuditLogEventTypes   *StringConfigItem  `json:"disabled_audit_log_event_types,omitempty"`
	ScannerSkipUpdatePulltime    *BoolConfigItem    `json:"scanner_skip_update_pulltime,omitempty"`
	BannerMessage                *StringConfigItem  `json:"banner_message,omitempty"`
	LdapURL                      *StringConfigItem  `json:"ldap_url,omitempty"`
	LdapBaseDn                   *StringConfigItem  `json:"ldap_base_dn,omitempty"`
	LdapSearchDn                 *StringConfigItem  `json:"ldap_search_dn,omitempty"`
	LdapFilter                   *StringConfigItem  `json:"ldap_filter,omitempty"`
	LdapUID                      *StringConfigItem  `json:"ldap_uid,omitempty"`
	LdapScope                    *IntegerConfigItem `json:"ldap_scope,omitempty"`
	LdapTimeout                  *IntegerConfigItem `json:"ldap_timeout,omitempty"`
	LdapVerifyCert               *BoolConfigItem    `json:"ldap_verify_cert,omitempty"`
	LdapGroupBaseDn              *StringConfigItem  `json:"ldap_group_base_dn,omitempty"`
	LdapGroupSearchFilter        *StringConfigItem  `json:"ldap_group_search_filter,omitempty"`
	LdapGroupAttributeName       *StringConfigItem  `json:"ldap_group_attribute_name,omitempty"`
	LdapGroupSearchScope         *IntegerConfigItem `json:"ldap_group_search_scope,omitempty"`
	LdapGroupMembershipAttribute *StringConfigItem  `json:"ldap_group_membership_attribute,omitempty"`
	LdapGroupAdminDn             *StringConfigItem  `json:"ldap_group_admin_dn,omitempty"`
	OIDCName                     *StringConfigItem  `json:"oidc_name,omitempty"`
	OIDCEndpoint                 *StringConfigItem  `json:"oidc_endpoint,omitempty"`
	OIDCClientID                 *StringConfigItem  `json:"oidc_client_id,omitempty"`
	OIDCGroupsClaim              *StringConfigItem  `json:"oidc_groups_claim,omitempty"`
	OIDCAdminGroup               *StringConfigItem  `json:"oidc_admin_group,omitempty"`
	OIDCGroupFilter              *StringConfigItem  `json:"oidc_group_filter,omitempty"`
	OIDCScope                    *StringConfigItem  `json:"oidc_scope,omitempty"`
	OIDCUserClaim                *StringConfigItem  `json:"oidc_user_claim,omitempty"`
	OIDCVerifyCert               *BoolConfigItem    `json:"oidc_verify_cert,omitempty"`
	OIDCAutoOnboard              *BoolConfigItem    `json:"oidc_auto_onboard,omitempty"`
	OIDCLogout                   *BoolConfigItem    `json:"oidc_logout,omitempty"`
	OIDCExtraRedirectParms       *StringConfigItem  `json:"oidc_extra_redirect_parms,omitempty"`
}

// Configurations is the body of PUT /configurations: Harbor's
// Configurations, a subset of the settings to change. berth changes
// project_creation_restriction and robot_token_duration; any other key
// is refused unless it repeats the current value.
type Configurations struct {
	ProjectCreationRestriction *string `json:"project_creation_restriction,omitempty" doc:"everyone or adminonly"`
	RobotTokenDuration         *int64  `json:"robot_token_duration,omitempty" doc:"days, 1 to 36500, or -1 for robots that never expire"`
	ReadOnly                   *bool   `json:"read_only,omitempty" doc:"berth has no read-only mode: only false is accepted"`
	SelfRegistration           *bool   `json:"self_registration,omitempty" doc:"berth has no self-registration: only false is accepted"`
}

// Kinds of configuration values.
const (
	kindString = "string"
	kindInt    = "integer"
	kindBool   = "boolean"
)

// configKeys maps every key ConfigurationsResponse can report to the kind
// of its value.
func configKeys() map[string]string {
	out := map[string]string{}
	t := reflect.TypeFor[ConfigurationsResponse]()
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch f.Type.Elem() {
		case reflect.TypeFor[StringConfigItem]():
			out[name] = kindString
		case reflect.TypeFor[IntegerConfigItem]():
			out[name] = kindInt
		case reflect.TypeFor[BoolConfigItem]():
			out[name] = kindBool
		}
	}
	return out
}
