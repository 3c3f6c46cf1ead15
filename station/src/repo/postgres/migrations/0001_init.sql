-- 0001 (PostgreSQL): the whole station schema, equivalent to the SQLite
-- backend's migrations 0001 and 0002.
--
-- Every tenant-owned row carries station_id; child rows point at their parent
-- together with its station (composite foreign keys), so a row can never be
-- attached to another station's parent.

CREATE TABLE stations (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL
);

-- Per-station counters of the changes feed and the audit log: the last
-- number handed out. Writers never touch them; see `changes` below.
CREATE TABLE station_counters (
    station_id  uuid PRIMARY KEY REFERENCES stations(id),
    change_seq  bigint NOT NULL DEFAULT 0 CHECK (change_seq >= 0),
    audit_seq   bigint NOT NULL DEFAULT 0 CHECK (audit_seq >= 0)
);

CREATE TABLE categories (
    station_id  uuid NOT NULL REFERENCES stations(id),
    code        text NOT NULL,
    position    integer NOT NULL,
    name_ko     text NOT NULL,
    name_en     text NOT NULL,
    guidance    text NOT NULL,
    retired     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (station_id, code)
);

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    station_id     uuid NOT NULL REFERENCES stations(id),
    username       text NOT NULL,
    role           text NOT NULL CHECK (role IN ('carrier', 'supervisor', 'inspector', 'admin')),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL,
    disabled_at    timestamptz,
    UNIQUE (station_id, username),
    UNIQUE (station_id, id)
);

CREATE TABLE sessions (
    token_hash  text PRIMARY KEY,
    station_id  uuid NOT NULL,
    user_id     uuid NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    FOREIGN KEY (station_id, user_id) REFERENCES users (station_id, id)
);

CREATE TABLE devices (
    id           uuid PRIMARY KEY,
    station_id   uuid NOT NULL REFERENCES stations(id),
    label        text NOT NULL,
    token_hash   text NOT NULL UNIQUE,
    enrolled_at  timestamptz NOT NULL,
    revoked_at   timestamptz,
    UNIQUE (station_id, id)
);
CREATE INDEX devices_by_station ON devices (station_id, label);

CREATE TABLE enrolment_codes (
    code_hash    text PRIMARY KEY,
    station_id   uuid NOT NULL REFERENCES stations(id),
    label        text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    redeemed_at  timestamptz,
    device_id    uuid,
    UNIQUE (station_id, label),
    FOREIGN KEY (station_id, device_id) REFERENCES devices (station_id, id)
);

-- The report id is unique forever, across all stations, and never pruned.
CREATE TABLE reports (
    id             uuid PRIMARY KEY,
    station_id     uuid NOT NULL REFERENCES stations(id),
    device_id      uuid NOT NULL,
    content_hash   text NOT NULL,
    content_json   text NOT NULL,
    category       text NOT NULL,
    status         text NOT NULL DEFAULT 'received',
    status_reason  text,
    complete       boolean NOT NULL,
    received_at    timestamptz NOT NULL,
    UNIQUE (station_id, id),
    FOREIGN KEY (station_id, device_id) REFERENCES devices (station_id, id)
);
CREATE INDEX reports_by_station ON reports (station_id, received_at);
CREATE INDEX reports_by_device ON reports (station_id, device_id);

CREATE TABLE report_photos (
    report_id     uuid NOT NULL,
    station_id    uuid NOT NULL,
    position      integer NOT NULL CHECK (position >= 0),
    sha256        text NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    content_type  text NOT NULL,
    received_at   timestamptz,
    PRIMARY KEY (report_id, position),
    FOREIGN KEY (station_id, report_id) REFERENCES reports (station_id, id)
);

-- One row per tus upload; `upload_offset` counts only bytes already fsynced in
-- the part file, `hash_state` is the SHA-256 state over exactly those bytes.
CREATE TABLE uploads (
    id             text PRIMARY KEY,
    station_id     uuid NOT NULL,
    device_id      uuid NOT NULL,
    report_id      uuid NOT NULL,
    sha256         text NOT NULL,
    length         bigint NOT NULL CHECK (length > 0),
    upload_offset  bigint NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= length),
    hash_state     bytea,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    completed_at   timestamptz,
    FOREIGN KEY (station_id, device_id) REFERENCES devices (station_id, id),
    FOREIGN KEY (station_id, report_id) REFERENCES reports (station_id, id)
);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);

-- The changes feed. A writer appends its entry with `seq` NULL inside its own
-- transaction, without any per-station lock, so deliveries of one station
-- commit in parallel (and share WAL flushes). Numbers are handed out after
-- commit, by a reader, under the station's counter row lock: only committed
-- entries are numbered, each batch after the previous one, so `seq` is gapless
-- and in commit order per station, and a cursor never skips an entry that
-- commits late. `id` orders entries within a batch.
CREATE TABLE changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id      uuid NOT NULL REFERENCES stations(id),
    seq             bigint CHECK (seq > 0),
    kind            text NOT NULL CHECK (kind IN ('report', 'categories')),
    event           text CHECK (event IN ('created', 'status', 'photo', 'complete')),
    report_id       uuid,
    device_id       uuid,
    status          text,
    reason          text,
    complete        boolean,
    photos_missing  integer,
    data_json       text,
    at              timestamptz NOT NULL,
    UNIQUE (station_id, seq),
    FOREIGN KEY (station_id, report_id) REFERENCES reports (station_id, id),
    CHECK ((kind = 'report') = (report_id IS NOT NULL AND event IS NOT NULL))
);
CREATE INDEX changes_unnumbered ON changes (station_id, id) WHERE seq IS NULL;
CREATE INDEX changes_by_device ON changes (station_id, device_id, seq) WHERE kind = 'report';

-- Who did what, when, to what, with the state before and after. Numbered
-- after commit like the feed. Append-only: the triggers refuse deletes,
-- truncation and every update except giving an unnumbered row its number.
CREATE TABLE audit_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id       uuid NOT NULL REFERENCES stations(id),
    seq              bigint CHECK (seq > 0),
    at               timestamptz NOT NULL,
    actor_role       text NOT NULL,
    actor_user_id    uuid,
    actor_username   text,
    actor_device_id  uuid,
    action           text NOT NULL,
    target_kind      text NOT NULL,
    target_id        text NOT NULL,
    before_json      text,
    after_json       text,
    UNIQUE (station_id, seq)
);
CREATE INDEX audit_unnumbered ON audit_log (station_id, id) WHERE seq IS NULL;

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (NEW.id, NEW.station_id, NEW.at, NEW.actor_role, NEW.actor_user_id,
            NEW.actor_username, NEW.actor_device_id, NEW.action, NEW.target_kind,
            NEW.target_id, NEW.before_json, NEW.after_json)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.station_id, OLD.at, OLD.actor_role, OLD.actor_user_id,
            OLD.actor_username, OLD.actor_device_id, OLD.action, OLD.target_kind,
            OLD.target_id, OLD.before_json, OLD.after_json)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
