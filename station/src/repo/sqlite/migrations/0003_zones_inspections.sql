-- 0003: zones (the district's routes and beats), inspections of reports, and
-- the feed kinds they add.

-- A zone of the station's district. Never deleted: `retired_at` is set instead,
-- so audit rows and phones that know its code keep resolving it.
CREATE TABLE zones (
    station_id  TEXT NOT NULL REFERENCES stations(id),
    code        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    area_json   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    retired_at  TEXT,
    PRIMARY KEY (station_id, code)
) STRICT;

-- The carrier devices assigned to a zone.
CREATE TABLE zone_devices (
    station_id  TEXT NOT NULL REFERENCES stations(id),
    zone_code   TEXT NOT NULL,
    device_id   TEXT NOT NULL REFERENCES devices(id),
    PRIMARY KEY (station_id, zone_code, device_id),
    FOREIGN KEY (station_id, zone_code) REFERENCES zones(station_id, code)
) STRICT;

-- One inspection per report: the inspector a supervisor assigned, and the
-- findings once recorded. Re-assigning replaces the inspector.
CREATE TABLE inspections (
    report_id     TEXT PRIMARY KEY NOT NULL REFERENCES reports(id),
    station_id    TEXT NOT NULL REFERENCES stations(id),
    inspector_id  TEXT NOT NULL REFERENCES users(id),
    assigned_by   TEXT NOT NULL REFERENCES users(id),
    assigned_at   TEXT NOT NULL,
    findings      TEXT,
    outcome       TEXT CHECK (outcome IN ('confirmed', 'not_confirmed', 'resolved')),
    observed_at   TEXT,
    recorded_at   TEXT
) STRICT;
CREATE INDEX inspections_by_inspector ON inspections (station_id, inspector_id);

-- The feed gains zone lists and an `inspected` report event. SQLite cannot
-- change a CHECK constraint in place, so the table is rebuilt with its rows.
CREATE TABLE changes_new (
    station_id      TEXT NOT NULL REFERENCES stations(id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    kind            TEXT NOT NULL CHECK (kind IN ('report', 'categories', 'zones')),
    event           TEXT CHECK (event IN ('created', 'status', 'photo', 'complete', 'inspected')),
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
INSERT INTO changes_new SELECT * FROM changes;
DROP TABLE changes;
ALTER TABLE changes_new RENAME TO changes;
