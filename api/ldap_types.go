package api

// LdapConf is a directory configuration to try (pingLdap). Empty fields
// keep the configured values.
type LdapConf struct {
	LdapURL               string `json:"ldap_url,omitempty" doc:"ldap://host[:port] or ldaps://host[:port]; a bare host is ldap://"`
	LdapSearchDn          string `json:"ldap_search_dn,omitempty" doc:"The DN searches bind as"`
	LdapSearchPassword    string `json:"ldap_search_password,omitempty" doc:"Write-only. Empty keeps the configured password, but only for the configured URL and search DN"`
	LdapBaseDn            string `json:"ldap_base_dn,omitempty"`
	LdapFilter            string `json:"ldap_filter,omitempty" doc:"Restricts the user entries, e.g. (objectClass=person)"`
	LdapUID               string `json:"ldap_uid,omitempty" doc:"The login attribute, e.g. uid or sAMAccountName"`
	LdapScope             int64  `json:"ldap_scope,omitempty" doc:"Ignored: berth searches the whole subtree"`
	LdapConnectionTimeout int64  `json:"ldap_connection_timeout,omitempty" doc:"Seconds, 1 to 15 (default: as configured)"`
	LdapVerifyCert        *bool  `json:"ldap_verify_cert,omitempty" doc:"false skips certificate verification for this ping; absent keeps it on"`
}

// LdapPingResult tells whether the directory answered and accepted the
// search DN.
type LdapPingResult struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty" doc:"Why not, when success is false"`
}

// LdapUser is a directory user.
type LdapUser struct {
	Username string `json:"username,omitempty"`
	Realname string `json:"realname,omitempty" doc:"The display name attribute"`
	Email    string `json:"email,omitempty"`
}

// LdapImportUsers names directory users to add as berth users.
type LdapImportUsers struct {
	LdapUIDList []string `json:"ldap_uid_list" doc:"Login names, at most 100"`
}

// LdapFailedImportUser is a user importLdapUser could not add, and why.
type LdapFailedImportUser struct {
	UID   string `json:"uid,omitempty"`
	Error string `json:"error,omitempty"`
}

// UserGroupSearchItem is a group as searchUserGroups shows it.
type UserGroupSearchItem struct {
	ID        int64  `json:"id"`
	GroupName string `json:"group_name"`
	GroupType int    `json:"group_type" doc:"1 LDAP, 2 HTTP, 3 OIDC"`
}
