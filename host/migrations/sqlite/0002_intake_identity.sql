-- Intake tells a resend from a different record under a stored id: the SHA-256 of the body as received.
-- (NULL for rows stored before this migration: a resend of those is answered as before, `duplicate`.)
ALTER TABLE inbox ADD COLUMN body_sha256 TEXT;

-- Provisional subject ids are made by devices, so they are unique only within a municipality.
CREATE TABLE provisional_subjects_v2 (
    provisional_id TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    subject_id TEXT,
    outcome TEXT NOT NULL,
    resolved_at TEXT NOT NULL,
    PRIMARY KEY (municipality_code, provisional_id)
);
INSERT INTO provisional_subjects_v2 (provisional_id, municipality_code, subject_id, outcome, resolved_at)
    SELECT provisional_id, municipality_code, subject_id, outcome, resolved_at FROM provisional_subjects;
DROP TABLE provisional_subjects;
ALTER TABLE provisional_subjects_v2 RENAME TO provisional_subjects;
