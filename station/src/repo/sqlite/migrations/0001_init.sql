-- 0001: stations (tenants), categories, staff users, sessions, enrolment codes,
-- devices and reports with their photo manifests.
--
-- Every tenant-owned row carries station_id. Timestamps are UTC RFC 3339 text
-- with microseconds and a trailing Z, so text order is time order.

CREATE TABLE stations (
    id          TEXT PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE categories (
    station_id  TEXT NOT NULL REFERENCES stations(id),
    code        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    name_ko     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    guidance    TEXT NOT NULL,
    retired     INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
    PRIMARY KEY (station_id, code)
) STRICT;

CREATE TABLE users (
    id             TEXT PRIMARY KEY NOT NULL,
    station_id     TEXT NOT NULL REFERENCES stations(id),
    username       TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('carrier', 'supervisor', 'inspector', 'admin')),
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT,
    UNIQUE (station_id, username)
) STRICT;

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    station_id  TEXT NOT NULL REFERENCES stations(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;

CREATE TABLE devices (
    id           TEXT PRIMARY KEY NOT NULL,
    station_id   TEXT NOT NULL REFERENCES stations(id),
    label        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT
) STRICT;
CREATE INDEX devices_by_station ON devices (station_id, label);

CREATE TABLE enrolment_codes (
    code_hash    TEXT PRIMARY KEY NOT NULL,
    station_id   TEXT NOT NULL REFERENCES stations(id),
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    redeemed_at  TEXT,
    device_id    TEXT REFERENCES devices(id),
    UNIQUE (station_id, label)
) STRICT;

-- The report id is unique forever, across all stations, and never pruned.
CREATE TABLE reports (
    id            TEXT PRIMARY KEY NOT NULL,
    station_id    TEXT NOT NULL REFERENCES stations(id),
    device_id     TEXT NOT NULL REFERENCES devices(id),
    content_hash  TEXT NOT NULL,
    content_json  TEXT NOT NULL,
    category      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'received',
    complete      INTEGER NOT NULL CHECK (complete IN (0, 1)),
    received_at   TEXT NOT NULL
) STRICT;
CREATE INDEX reports_by_station ON reports (station_id, received_at);
CREATE INDEX reports_by_device ON reports (station_id, device_id);

CREATE TABLE report_photos (
    report_id     TEXT NOT NULL REFERENCES reports(id),
    station_id    TEXT NOT NULL REFERENCES stations(id),
    position      INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    content_type  TEXT NOT NULL,
    received_at   TEXT,
    PRIMARY KEY (report_id, position)
) STRICT;
