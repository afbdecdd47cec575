-- Same table as sqlite/0004_technician_roster.sql, under the municipality's row-level security.
CREATE TABLE IF NOT EXISTS technicians (
    staff_id TEXT PRIMARY KEY REFERENCES staff(staff_id),
    municipality_code TEXT NOT NULL,
    company TEXT NOT NULL,
    work_location TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
ALTER TABLE technicians ENABLE ROW LEVEL SECURITY;
ALTER TABLE technicians FORCE ROW LEVEL SECURITY;
CREATE POLICY by_municipality ON technicians USING (yoshin_visible(municipality_code))
    WITH CHECK (yoshin_visible(municipality_code));
