-- 0006: what the review console needs.
--
-- 1. A report version: a counter bumped on every change of a report's row
--    (triage, inspection assignment, completion, and any column added later)
--    and on every photo arrival, so every decision can say which version it
--    was made on (ETag / If-Match). Triggers, not application code, so no
--    write path can forget it. recursive_triggers is off (SQLite's default),
--    so the trigger's own UPDATE does not fire it again; the WHEN clause keeps
--    an update that already moved the version (the photo trigger's) from
--    bumping twice.
ALTER TABLE reports ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0);

CREATE TRIGGER reports_version_bump AFTER UPDATE ON reports
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN
    UPDATE reports SET version = OLD.version + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER report_photos_version_bump AFTER UPDATE OF received_at ON report_photos
FOR EACH ROW WHEN NEW.received_at IS NOT OLD.received_at
BEGIN
    UPDATE reports SET version = version + 1 WHERE id = NEW.report_id;
END;

-- 2. Session idle timeout: when a session was last used (NULL: not since it
--    was created). Touched at most once a minute per session.
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;

-- 3. Internal notes: staff-only remarks on a report, kept apart from the
--    status reason the carrier reads. Append-only, like the audit log; each
--    has a `report.note` audit row (which never holds the text).
CREATE TABLE report_notes (
    id               TEXT PRIMARY KEY NOT NULL,
    station_id       TEXT NOT NULL REFERENCES stations(id),
    report_id        TEXT NOT NULL REFERENCES reports(id),
    author_user_id   TEXT NOT NULL REFERENCES users(id),
    author_username  TEXT NOT NULL,
    at               TEXT NOT NULL,
    body             TEXT NOT NULL
) STRICT;
CREATE INDEX report_notes_by_report ON report_notes (station_id, report_id, at);

CREATE TRIGGER report_notes_no_update BEFORE UPDATE ON report_notes
BEGIN
    SELECT RAISE(ABORT, 'internal notes are append-only');
END;

CREATE TRIGGER report_notes_no_delete BEFORE DELETE ON report_notes
BEGIN
    SELECT RAISE(ABORT, 'internal notes are append-only');
END;

-- 4. The review queue and a report's history: filter by status in received
--    order, and read one report's audit rows without scanning the log.
CREATE INDEX reports_by_status ON reports (station_id, status, received_at);
CREATE INDEX reports_by_category ON reports (station_id, category, status, received_at);
CREATE INDEX audit_by_target ON audit_log (station_id, target_id, seq);
