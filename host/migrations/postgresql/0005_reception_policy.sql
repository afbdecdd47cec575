-- Control 4: each municipality says whether a questionnaire record needs reception's identity check
-- (proofs.identity_confirmed_by). No row: not required (the municipality has not decided yet).
CREATE TABLE IF NOT EXISTS municipality_policy (
    municipality_code TEXT PRIMARY KEY,
    reception_check_required INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
