-- Schema version 4: the station's zones (routes, beats), as the changes feed
-- last delivered them, so the carrier sees its own beat offline.

CREATE TABLE zones (
    position   INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    area_json  TEXT,                           -- GeoJSON Polygon geometry, validated
    assigned   INTEGER NOT NULL DEFAULT 0,     -- this phone is assigned to the zone
    retired    INTEGER NOT NULL DEFAULT 0
) STRICT;
