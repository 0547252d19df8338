-- User groups, Harbor's: an LDAP group (type 1) named by its DN, or an
-- HTTP (2) or OIDC (3) group named by its name. subject is what project
-- memberships bind after "group:" (the canonical DN for LDAP groups, the
-- name for the others); it is unique, so two rows never share the grants
-- of one subject. AUTOINCREMENT: a deleted group's id is never reused.
-- Times are Unix nanoseconds.
CREATE TABLE auth_usergroups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    group_type INTEGER NOT NULL,
    ldap_dn    TEXT NOT NULL DEFAULT '',
    subject    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX auth_usergroups_subject ON auth_usergroups (subject);
CREATE INDEX auth_usergroups_name ON auth_usergroups (name);
