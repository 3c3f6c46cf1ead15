-- 0005 (PostgreSQL): what the review console needs; equivalent to the SQLite
-- backend's migration 0006.
--
-- 1. A report version, bumped on every change of a report's row and on every
--    photo arrival, by triggers so no write path can forget it. Every
--    decision says which version it was made on (ETag / If-Match).
ALTER TABLE reports ADD COLUMN version bigint NOT NULL DEFAULT 1 CHECK (version > 0);

CREATE FUNCTION reports_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$;

CREATE TRIGGER reports_version_bump BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION reports_bump_version();

-- A photo's arrival touches its report, which the trigger above bumps. Photo
-- completion locks the report row first, so this takes no new lock order.
CREATE FUNCTION report_photos_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reports SET version = version WHERE station_id = NEW.station_id AND id = NEW.report_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER report_photos_version_bump AFTER UPDATE OF received_at ON report_photos
    FOR EACH ROW WHEN (NEW.received_at IS DISTINCT FROM OLD.received_at)
    EXECUTE FUNCTION report_photos_bump_version();

-- 2. Session idle timeout: when a session was last used (NULL: not since it
--    was created). Touched at most once a minute per session.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz;

-- 3. Internal notes: staff-only remarks on a report, kept apart from the
--    status reason the carrier reads. Append-only; each has a `report.note`
--    audit row (which never holds the text).
CREATE TABLE report_notes (
    id               uuid PRIMARY KEY,
    station_id       uuid NOT NULL,
    report_id        uuid NOT NULL,
    author_user_id   uuid NOT NULL,
    author_username  text NOT NULL,
    at               timestamptz NOT NULL,
    body             text NOT NULL,
    FOREIGN KEY (station_id, report_id) REFERENCES reports (station_id, id),
    FOREIGN KEY (station_id, author_user_id) REFERENCES users (station_id, id)
);
CREATE INDEX report_notes_by_report ON report_notes (station_id, report_id, at);

CREATE FUNCTION report_notes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'internal notes are append-only' USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER report_notes_no_change BEFORE UPDATE OR DELETE ON report_notes
    FOR EACH ROW EXECUTE FUNCTION report_notes_append_only();

-- 4. The review queue and a report's history.
CREATE INDEX reports_by_status ON reports (station_id, status, received_at);
CREATE INDEX reports_by_category ON reports (station_id, category, status, received_at);
CREATE INDEX audit_by_target ON audit_log (station_id, target_id, id);
