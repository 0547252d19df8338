-- Reports: one per artifact digest, scanner and vulnerability DB version.
CREATE TABLE scan_reports (
    digest       TEXT    NOT NULL,
    scanner      TEXT    NOT NULL,
    db_version   TEXT    NOT NULL,
    repository   TEXT    NOT NULL,
    generated_at INTEGER NOT NULL,
    severity     INTEGER NOT NULL,
    summary      TEXT    NOT NULL,
    findings     TEXT    NOT NULL,
    report       TEXT    NOT NULL,
    PRIMARY KEY (digest, scanner, db_version)
);
CREATE INDEX scan_reports_latest ON scan_reports (digest, generated_at);

-- Tasks: scan, SBOM and scan-all runs, with their status and log.
CREATE TABLE scan_tasks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    repository TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    media_type TEXT    NOT NULL,
    scanner    TEXT    NOT NULL,
    trigger    TEXT    NOT NULL,
    job_id     INTEGER NOT NULL DEFAULT 0,
    status     TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL DEFAULT 0,
    ended_at   INTEGER NOT NULL DEFAULT 0,
    log        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX scan_tasks_digest ON scan_tasks (digest, kind, id);

-- CVE allowlists: project '' is the system allowlist.
CREATE TABLE scan_allowlists (
    project    TEXT    PRIMARY KEY,
    items      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Registered pluggable scanners (Harbor scanner adapters).
CREATE TABLE scan_scanners (
    id               TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE,
    description      TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    auth             TEXT    NOT NULL,
    credential       TEXT    NOT NULL,
    skip_cert_verify INTEGER NOT NULL,
    use_internal     INTEGER NOT NULL,
    disabled         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

-- The scanner each project uses, when not the default.
CREATE TABLE scan_project_scanners (
    project TEXT PRIMARY KEY,
    scanner TEXT NOT NULL
);

-- Settings: the default scanner, the scan-all schedule and its last run.
CREATE TABLE scan_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
