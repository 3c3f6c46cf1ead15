-- 0004: zones become beats, watch areas or the station's jurisdiction, with a
-- theme (watch areas), an English name, guidance for carriers and a validity;
-- the feed gains per-zone deltas (`zone`) next to the old whole lists
-- (`zones`), which stay readable. Existing zones are beats.

ALTER TABLE zones ADD COLUMN kind TEXT NOT NULL DEFAULT 'beat'
    CHECK (kind IN ('beat', 'watch_area', 'jurisdiction'));
ALTER TABLE zones ADD COLUMN theme TEXT;
ALTER TABLE zones ADD COLUMN name_en TEXT;
ALTER TABLE zones ADD COLUMN guidance TEXT;
ALTER TABLE zones ADD COLUMN valid_from TEXT;
ALTER TABLE zones ADD COLUMN valid_until TEXT;

-- SQLite cannot change a CHECK constraint in place, so the feed table is
-- rebuilt with its rows (as in 0003).
CREATE TABLE changes_new (
    station_id      TEXT NOT NULL REFERENCES stations(id),
    seq             INTEGER NOT NULL CHECK (seq > 0),
    kind            TEXT NOT NULL CHECK (kind IN ('report', 'categories', 'zones', 'zone')),
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
