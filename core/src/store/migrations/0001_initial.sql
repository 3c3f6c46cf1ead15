-- Schema version 1: the report queue.
-- Reports are never deleted by a migration; later versions convert rows in place.

CREATE TABLE reports (
    id                TEXT PRIMARY KEY NOT NULL,          -- UUIDv7, made on the device
    state             TEXT NOT NULL CHECK (state IN
                        ('draft', 'queued', 'sending', 'sent', 'withdrawn', 'rejected_by_server')),
    category          TEXT,
    note              TEXT,
    lat               REAL,
    lon               REAL,
    accuracy_m        REAL,
    altitude_m        REAL,
    fix_time          TEXT,                               -- RFC 3339, UTC
    location_source   TEXT,
    created_at        TEXT NOT NULL,                      -- RFC 3339 with the device's offset
    created_at_ms     INTEGER NOT NULL,                   -- UTC milliseconds, the queue's order
    updated_at_ms     INTEGER NOT NULL,
    queued_at_ms      INTEGER,
    content_json      TEXT,                               -- sealed content, set at submit
    content_hash      TEXT,                               -- SHA-256 of content_json
    review_status     TEXT,
    server_message    TEXT
) STRICT;

CREATE INDEX reports_by_state_and_age ON reports (state, created_at_ms, id);
CREATE INDEX reports_by_age ON reports (created_at_ms, id);

CREATE TABLE report_photos (
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL CHECK (position >= 0),
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    PRIMARY KEY (report_id, position)
) STRICT;

CREATE INDEX report_photos_by_hash ON report_photos (sha256);

-- A sealed report's content is frozen: the database refuses edits even if the code
-- around it has a bug.
CREATE TRIGGER reports_sealed_content
BEFORE UPDATE OF category, note, lat, lon, accuracy_m, altitude_m, fix_time, location_source,
                 created_at, content_json, content_hash ON reports
WHEN OLD.state <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'report content is sealed');
END;

CREATE TRIGGER report_photos_sealed_insert
BEFORE INSERT ON report_photos
WHEN (SELECT state FROM reports WHERE id = NEW.report_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'report content is sealed');
END;

CREATE TRIGGER report_photos_sealed_delete
BEFORE DELETE ON report_photos
WHEN (SELECT state FROM reports WHERE id = OLD.report_id) NOT IN ('draft')
BEGIN
    SELECT RAISE(ABORT, 'report content is sealed');
END;
