-- 0004 (PostgreSQL): where each report is; equivalent to the SQLite
-- backend's migration 0005. Position and created_at as columns (copied out
-- of content_json, which stays the record), a grid cell of the position with
-- a B-tree index for nearby duplicates, what the station found at arrival
-- (district, the station's zones, outside the jurisdiction, distance to its
-- line), the report a follow-up adds to, and the feed's `follow_up` event.

ALTER TABLE reports
    ADD COLUMN lat double precision,
    ADD COLUMN lon double precision,
    ADD COLUMN created_at timestamptz,
    -- The grid cell of the position: rows of 0.0005 degrees of latitude
    -- times 1,000,000, plus columns of 0.0005 degrees of longitude, counted
    -- from (-90, -180). The station computes it the same way
    -- (`repo::postgres::nearby::cell`); a search reads the cells its box covers.
    ADD COLUMN cell bigint,
    ADD COLUMN follow_up_of uuid,
    -- NULL zones_json = not placed yet (reports stored before this migration:
    -- the station places them at startup, in batches; positions need the
    -- district and zone outlines, which plain SQL cannot test).
    ADD COLUMN district_code text,
    ADD COLUMN district_name text,
    ADD COLUMN zones_json text,
    ADD COLUMN outside_jurisdiction boolean,
    ADD COLUMN boundary_distance_m double precision,
    ADD FOREIGN KEY (station_id, follow_up_of) REFERENCES reports (station_id, id);

UPDATE reports SET
    lat = (content_json::jsonb #>> '{location,lat}')::double precision,
    lon = (content_json::jsonb #>> '{location,lon}')::double precision,
    created_at = (content_json::jsonb ->> 'created_at')::timestamptz;
-- A follow-up stored before the station checked parents keeps its parent
-- only when that is a report of the same device of the same station.
UPDATE reports r SET follow_up_of = p.id
FROM reports p
WHERE p.id = (r.content_json::jsonb ->> 'follow_up_of')::uuid
  AND p.station_id = r.station_id AND p.device_id = r.device_id AND p.id <> r.id;
UPDATE reports SET
    cell = floor((lat + 90.0::double precision) * 2000.0::double precision)::bigint * 1000000
         + floor((lon + 180.0::double precision) * 2000.0::double precision)::bigint;

CREATE INDEX reports_by_cell ON reports (station_id, cell, created_at);
CREATE INDEX reports_follow_ups ON reports (station_id, follow_up_of)
    WHERE follow_up_of IS NOT NULL;
CREATE INDEX reports_unplaced ON reports (received_at, id) WHERE zones_json IS NULL;

-- The feed gains the `follow_up` report event; existing rows satisfy it.
ALTER TABLE changes DROP CONSTRAINT changes_event_check;
ALTER TABLE changes ADD CONSTRAINT changes_event_check
    CHECK (event IN ('created', 'status', 'photo', 'complete', 'inspected', 'follow_up'));
