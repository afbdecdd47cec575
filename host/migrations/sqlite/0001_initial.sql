-- The schema as the host created it before versioned migrations (CREATE ... IF NOT EXISTS, so a
-- database made by that code is adopted as version 1 unchanged).
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    clinic_code TEXT NOT NULL,
    serial TEXT NOT NULL,
    certificate_serial TEXT NOT NULL,
    certificate_not_after TEXT NOT NULL,
    signing_public_key BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'decommissioned')),
    enrolled_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_reason TEXT
);
CREATE TABLE IF NOT EXISTS enrollment_tokens (
    token_hash TEXT PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    clinic_code TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    device_id TEXT
);
CREATE TABLE IF NOT EXISTS residents (
    id INTEGER PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    atena_number TEXT NOT NULL,
    my_number_index BLOB NOT NULL,
    my_number_sealed BLOB NOT NULL,
    kana TEXT NOT NULL,
    name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    sex TEXT NOT NULL,
    address TEXT NOT NULL,
    guardian_name TEXT,
    no_auto_answer INTEGER NOT NULL DEFAULT 0,
    no_disclosure INTEGER NOT NULL DEFAULT 0,
    viewing_suspended INTEGER NOT NULL DEFAULT 0,
    conditions TEXT NOT NULL DEFAULT '',
    UNIQUE (municipality_code, my_number_index),
    UNIQUE (municipality_code, subject_id)
);
CREATE TABLE IF NOT EXISTS history (
    resident_id INTEGER NOT NULL REFERENCES residents(id),
    vaccine_code TEXT NOT NULL,
    dose_number INTEGER NOT NULL,
    date TEXT NOT NULL,
    UNIQUE (resident_id, vaccine_code, dose_number, date)
);
CREATE TABLE IF NOT EXISTS inbox (
    record_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_municipality ON inbox (municipality_code, kind, received_at);
CREATE TABLE IF NOT EXISTS provisional_subjects (
    provisional_id TEXT PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    subject_id TEXT,
    outcome TEXT NOT NULL,
    resolved_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_subject ON inbox (municipality_code, subject_id);
CREATE TABLE IF NOT EXISTS jpki_links (
    fingerprint TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (fingerprint, municipality_code)
);
CREATE TABLE IF NOT EXISTS challenges (
    challenge_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    challenge BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash BLOB NOT NULL,
    salt BLOB NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    card_fingerprint TEXT,
    created_at TEXT NOT NULL,
    deactivated_at TEXT
);
CREATE TABLE IF NOT EXISTS staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL UNIQUE REFERENCES staff(staff_id),
    device_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    actor TEXT NOT NULL,
    terminal TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_anchor (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS provisions (
    id INTEGER PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    records INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS erasures (
    id INTEGER PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    device_id TEXT,
    recorded_at TEXT NOT NULL,
    detail TEXT NOT NULL
);
