-- 0005: where each report is. Its position and created_at as columns (copied
-- out of content_json, which stays the record), an R*Tree over position and
-- time for nearby duplicates, what the station found at arrival (district,
-- the station's zones, outside the jurisdiction, distance to its line), the
-- report a follow-up adds to, and the feed's `follow_up` event.

ALTER TABLE reports ADD COLUMN lat REAL;
ALTER TABLE reports ADD COLUMN lon REAL;
-- The content's created_at in UTC (RFC 3339, microseconds for new rows,
-- milliseconds for the rows converted below).
ALTER TABLE reports ADD COLUMN created_at TEXT;
-- The R*Tree's key for the report. Not the rowid: VACUUM may renumber the
-- rowids of a table without an INTEGER PRIMARY KEY, which would silently
-- point the index at other reports. Assigned max + 1 by the single writer.
ALTER TABLE reports ADD COLUMN place_seq INTEGER;
ALTER TABLE reports ADD COLUMN follow_up_of TEXT REFERENCES reports(id);
-- NULL zones_json = not placed yet (reports stored before this migration:
-- the station places them at startup, in batches; positions need the
-- district and zone outlines, which SQL cannot test).
ALTER TABLE reports ADD COLUMN district_code TEXT;
ALTER TABLE reports ADD COLUMN district_name TEXT;
ALTER TABLE reports ADD COLUMN zones_json TEXT;
ALTER TABLE reports ADD COLUMN outside_jurisdiction INTEGER CHECK (outside_jurisdiction IN (0, 1));
ALTER TABLE reports ADD COLUMN boundary_distance_m REAL;

UPDATE reports SET
    lat = json_extract(content_json, '$.location.lat'),
    lon = json_extract(content_json, '$.location.lon'),
    created_at = strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(content_json, '$.created_at')),
    place_seq = rowid;
-- A follow-up stored before the station checked parents keeps its parent
-- only when that is a report of the same device of the same station.
UPDATE reports SET follow_up_of = (
    SELECT p.id FROM reports AS p
    WHERE p.id = json_extract(reports.content_json, '$.follow_up_of')
      AND p.station_id = reports.station_id AND p.device_id = reports.device_id
      AND p.id <> reports.id)
WHERE json_extract(content_json, '$.follow_up_of') IS NOT NULL;

CREATE UNIQUE INDEX reports_by_place_seq ON reports (place_seq);
CREATE INDEX reports_follow_ups ON reports (station_id, follow_up_of)
    WHERE follow_up_of IS NOT NULL;
CREATE INDEX reports_unplaced ON reports (place_seq) WHERE zones_json IS NULL;

-- Position (degrees) and created_at of every report, keyed by place_seq,
-- written by the store in the same transaction as the report. Time is in
-- thousands of days since 2020-01-01 (`repo::sqlite::nearby::tree_time`), so
-- that a year spans about as much of the tree as Seoul does in degrees: an
-- R*Tree splits nodes along the dimension whose extent dominates, and in
-- seconds time would swamp position (measured over a million reports: 18 ms
-- a search with seconds, 0.06 ms with this unit). Coordinates are 32-bit
-- floats rounded outwards, so the tree only selects candidates; the exact
-- rules run on the reports' own columns.
CREATE VIRTUAL TABLE report_rtree USING rtree(id, min_lat, max_lat, min_lon, max_lon, min_t, max_t);
INSERT INTO report_rtree (id, min_lat, max_lat, min_lon, max_lon, min_t, max_t)
SELECT place_seq, lat, lat, lon, lon,
       (unixepoch(created_at) - 1577836800) / 86400000.0,
       (unixepoch(created_at) - 1577836800) / 86400000.0
FROM reports;

-- The feed gains the `follow_up` report event. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with its rows, as in 0003.
-- MERGE NOTE: the kind list must stay the union with what 0004_zone_details
-- allows (`zone`, the per-zone deltas, is listed here already).
CREATE TABLE changes_new (
    station_id      TEXT NOT NULL REFERENCES stations(id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    kind            TEXT NOT NULL CHECK (kind IN ('report', 'categories', 'zones', 'zone')),
    event           TEXT CHECK (event IN ('created', 'status', 'photo', 'complete', 'inspected',
                                          'follow_up')),
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
