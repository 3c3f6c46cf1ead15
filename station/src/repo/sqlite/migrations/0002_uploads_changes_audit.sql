-- 0002: resumable photo uploads (tus), the per-station changes feed, and the
-- append-only audit log.

-- One row per tus upload. `upload_offset` counts only bytes already fsynced in
-- DATA_DIR/uploads/<id>.part; `hash_state` is the SHA-256 state over exactly
-- those bytes, so a resume after a restart never re-reads the part file.
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY NOT NULL,
    station_id     TEXT NOT NULL REFERENCES stations(id),
    device_id      TEXT NOT NULL REFERENCES devices(id),
    report_id      TEXT NOT NULL REFERENCES reports(id),
    sha256         TEXT NOT NULL,
    length         INTEGER NOT NULL CHECK (length > 0),
    upload_offset  INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= length),
    hash_state     BLOB,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    completed_at   TEXT
) STRICT;
CREATE INDEX uploads_by_expiry ON uploads (expires_at);

-- The changes feed: one row per change, written in the same transaction as the
-- change. `seq` counts per station from 1, so a cursor never reveals another
-- station's activity. Report rows carry the state after the change; category
-- rows carry the full list as JSON.
CREATE TABLE changes (
    station_id      TEXT NOT NULL REFERENCES stations(id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    kind            TEXT NOT NULL CHECK (kind IN ('report', 'categories')),
    event           TEXT CHECK (event IN ('created', 'status', 'photo', 'complete')),
    report_id       TEXT REFERENCES reports(id),
    device_id       TEXT REFERENCES devices(id),
    status          TEXT,
    reason          TEXT,
    complete        INTEGER CHECK (complete IN (0, 1)),
    photos_missing  INTEGER,
    data_json       TEXT,
    at              TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
) STRICT;

-- Every station already has its seeded categories: publish them as change 1.
INSERT INTO changes (station_id, seq, kind, data_json, at)
SELECT s.id, 1, 'categories',
       (SELECT json_group_array(json_object(
                   'code', c.code, 'name_ko', c.name_ko, 'name_en', c.name_en,
                   'guidance', c.guidance, 'retired', json(CASE c.retired WHEN 1 THEN 'true' ELSE 'false' END)))
        FROM (SELECT * FROM categories WHERE station_id = s.id ORDER BY position) AS c),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM stations AS s;

-- Who did what, when, to what, with the state before and after. Append-only:
-- the triggers refuse updates and deletes.
CREATE TABLE audit_log (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id       TEXT NOT NULL REFERENCES stations(id),
    at               TEXT NOT NULL,
    actor_role       TEXT NOT NULL,
    actor_user_id    TEXT,
    actor_username   TEXT,
    actor_device_id  TEXT,
    action           TEXT NOT NULL,
    target_kind      TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    before_json      TEXT,
    after_json       TEXT
) STRICT;
CREATE INDEX audit_by_station ON audit_log (station_id, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The supervisor's reason for the current review status (a rejection's reason
-- is what the carrier reads).
ALTER TABLE reports ADD COLUMN status_reason TEXT;
