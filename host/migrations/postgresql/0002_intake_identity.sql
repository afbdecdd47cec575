-- Same changes as sqlite/0002_intake_identity.sql, and PostgreSQL's row-level security.
ALTER TABLE inbox ADD COLUMN body_sha256 TEXT;
ALTER TABLE provisional_subjects DROP CONSTRAINT provisional_subjects_pkey;
ALTER TABLE provisional_subjects ADD PRIMARY KEY (municipality_code, provisional_id);

-- Row-level security on the 自治体コード, a second wall behind the application's checks: every
-- transaction sets yoshin.municipality (yoshin.host.db), and a session bound to one municipality
-- neither sees nor changes another's rows whatever SQL it runs. '*' is the host's own cross-municipality
-- work (device look-up by certificate, enrollment, admin CLI). Unset: nothing is visible.
-- FORCE applies the policies to the tables' owner too, so the host must connect as a role that is
-- neither superuser nor BYPASSRLS (yoshin.host.db refuses one that is).
CREATE FUNCTION yoshin_visible(code TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('yoshin.municipality', true) IN (code, '*'), false) $$;

DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['devices', 'enrollment_tokens', 'residents', 'inbox', 'provisional_subjects',
                              'jpki_links', 'staff', 'provisions', 'erasures'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY by_municipality ON %I USING (yoshin_visible(municipality_code)) '
                       'WITH CHECK (yoshin_visible(municipality_code))', t);
    END LOOP;
END $$;

-- Tables without their own code follow their parent row.
ALTER TABLE history ENABLE ROW LEVEL SECURITY;
ALTER TABLE history FORCE ROW LEVEL SECURITY;
CREATE POLICY by_municipality ON history
    USING (EXISTS (SELECT 1 FROM residents r WHERE r.id = resident_id))
    WITH CHECK (EXISTS (SELECT 1 FROM residents r WHERE r.id = resident_id));
ALTER TABLE staff_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY by_municipality ON staff_sessions
    USING (EXISTS (SELECT 1 FROM staff s WHERE s.staff_id = staff_sessions.staff_id))
    WITH CHECK (EXISTS (SELECT 1 FROM staff s WHERE s.staff_id = staff_sessions.staff_id));
ALTER TABLE challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE challenges FORCE ROW LEVEL SECURITY;
CREATE POLICY by_municipality ON challenges
    USING (EXISTS (SELECT 1 FROM devices d WHERE d.device_id = challenges.device_id))
    WITH CHECK (EXISTS (SELECT 1 FROM devices d WHERE d.device_id = challenges.device_id));

-- The audit log is one hash chain across municipalities: any session reads its head and appends its own
-- municipality's lines (pseudonymous ids and outcomes, no personal data); only '*' (retention) deletes.
ALTER TABLE audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit FORCE ROW LEVEL SECURITY;
CREATE POLICY chain_read ON audit FOR SELECT USING (true);
CREATE POLICY own_lines ON audit FOR INSERT WITH CHECK (yoshin_visible(municipality_code));
CREATE POLICY host_only ON audit FOR DELETE USING (current_setting('yoshin.municipality', true) = '*');
