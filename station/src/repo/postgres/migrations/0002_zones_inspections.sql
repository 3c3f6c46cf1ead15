-- 0002 (PostgreSQL): zones, inspections and the feed kinds they add;
-- equivalent to the SQLite backend's migration 0003.

-- A zone of the station's district. Never deleted: `retired_at` is set instead,
-- so audit rows and phones that know its code keep resolving it.
CREATE TABLE zones (
    station_id  uuid NOT NULL REFERENCES stations(id),
    code        text NOT NULL,
    position    integer NOT NULL,
    name        text NOT NULL,
    area_json   text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    PRIMARY KEY (station_id, code)
);

-- The carrier devices assigned to a zone; both must be the same station's.
CREATE TABLE zone_devices (
    station_id  uuid NOT NULL,
    zone_code   text NOT NULL,
    device_id   uuid NOT NULL,
    PRIMARY KEY (station_id, zone_code, device_id),
    FOREIGN KEY (station_id, zone_code) REFERENCES zones (station_id, code),
    FOREIGN KEY (station_id, device_id) REFERENCES devices (station_id, id)
);

-- One inspection per report: the inspector a supervisor assigned, and the
-- findings once recorded. Re-assigning replaces the inspector. The report and
-- both users belong to the inspection's station.
CREATE TABLE inspections (
    report_id     uuid PRIMARY KEY,
    station_id    uuid NOT NULL,
    inspector_id  uuid NOT NULL,
    assigned_by   uuid NOT NULL,
    assigned_at   timestamptz NOT NULL,
    findings      text,
    outcome       text CHECK (outcome IN ('confirmed', 'not_confirmed', 'resolved')),
    observed_at   timestamptz,
    recorded_at   timestamptz,
    FOREIGN KEY (station_id, report_id) REFERENCES reports (station_id, id),
    FOREIGN KEY (station_id, inspector_id) REFERENCES users (station_id, id),
    FOREIGN KEY (station_id, assigned_by) REFERENCES users (station_id, id)
);
CREATE INDEX inspections_by_inspector ON inspections (station_id, inspector_id);

-- The feed gains zone lists and an `inspected` report event. PostgreSQL
-- changes the CHECK constraints in place; existing rows satisfy the new ones.
ALTER TABLE changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check
    CHECK (kind IN ('report', 'categories', 'zones'));
ALTER TABLE changes DROP CONSTRAINT changes_event_check;
ALTER TABLE changes ADD CONSTRAINT changes_event_check
    CHECK (event IN ('created', 'status', 'photo', 'complete', 'inspected'));
