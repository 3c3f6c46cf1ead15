-- Schema version 3: delivery progress, so an interrupted sync resumes where it
-- stopped instead of starting the report (or its photos) over.

-- One row per sealed report the sync engine has started on.
CREATE TABLE deliveries (
    report_id       TEXT PRIMARY KEY NOT NULL REFERENCES reports (id),
    metadata_acked  INTEGER NOT NULL DEFAULT 0,   -- the station stored the report (PUT 200/201)
    attempts        INTEGER NOT NULL DEFAULT 0,   -- delivery attempts that ended without settling it
    last_error      TEXT                          -- short reason, never personal data
) STRICT;

-- tus upload of one photo: the resource the station made, and the last offset it confirmed.
CREATE TABLE photo_uploads (
    report_id         TEXT NOT NULL REFERENCES reports (id),
    position          INTEGER NOT NULL,
    upload_url        TEXT,
    confirmed_offset  INTEGER NOT NULL DEFAULT 0,
    completed         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (report_id, position)
) STRICT;

-- Small engine state that must survive restarts: backoff, the changes-feed cursor,
-- whether the station asked the device to re-enrol.
CREATE TABLE sync_state (
    key    TEXT PRIMARY KEY NOT NULL,
    value  TEXT NOT NULL
) STRICT;
