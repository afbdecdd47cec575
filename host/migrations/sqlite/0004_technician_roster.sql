-- The technician roster (control 27): the paper roster a contractor submits in advance, one row per
-- approved technician, next to their individual staff ID (role 'technician', which holds the login).
-- company: the contractor (委託先); work_location: where they work (業務執行場所).
CREATE TABLE IF NOT EXISTS technicians (
    staff_id TEXT PRIMARY KEY REFERENCES staff(staff_id),
    municipality_code TEXT NOT NULL,
    company TEXT NOT NULL,
    work_location TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
