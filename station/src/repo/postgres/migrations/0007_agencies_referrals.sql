-- 0007 (PostgreSQL): referral to the agency in charge (issue 18, slice 1);
-- equivalent to the SQLite backend's migration 0008.
--
-- 1. Agencies, never deleted (retired). The Open311 API key is stored for
--    the sender and never returned by any read of an agency.
CREATE TABLE agencies (
    id                       uuid PRIMARY KEY,
    station_id               uuid NOT NULL REFERENCES stations(id),
    code                     text NOT NULL,
    name_ko                  text NOT NULL,
    name_en                  text NOT NULL,
    kind                     text NOT NULL
        CHECK (kind IN ('district_office', 'city', 'post_office', 'police', 'other')),
    send_method              text NOT NULL CHECK (send_method IN ('open311', 'email', 'manual')),
    open311_endpoint         text,
    open311_jurisdiction_id  text,
    open311_format           text CHECK (open311_format IN ('xml', 'json')),
    open311_api_key          text,
    service_codes_json       text NOT NULL DEFAULT '{}',
    emails_json              text NOT NULL DEFAULT '[]',
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    retired_at               timestamptz,
    UNIQUE (station_id, code),
    UNIQUE (station_id, id),
    CHECK (send_method <> 'open311' OR (open311_endpoint IS NOT NULL AND open311_format IS NOT NULL))
);

-- 2. Routing rules, first match by priority (lower first).
CREATE TABLE routing_rules (
    id             uuid PRIMARY KEY,
    station_id     uuid NOT NULL REFERENCES stations(id),
    priority       integer NOT NULL CHECK (priority >= 0),
    category       text,
    district_code  text,
    zone_code      text,
    agency_id      uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    UNIQUE (station_id, priority),
    CHECK (district_code IS NULL OR zone_code IS NULL),
    FOREIGN KEY (station_id, agency_id) REFERENCES agencies (station_id, id)
);

-- 3. Referrals (see the SQLite migration for `delivery`); at most one open
--    referral per report.
CREATE TABLE referrals (
    id                  uuid PRIMARY KEY,
    station_id          uuid NOT NULL,
    report_id           uuid NOT NULL,
    agency_id           uuid NOT NULL,
    send_method         text NOT NULL CHECK (send_method IN ('open311', 'email', 'manual')),
    delivery            text NOT NULL,
    body                text NOT NULL,
    proposed_agency_id  uuid,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL,
    closed_at           timestamptz,
    UNIQUE (station_id, id),
    FOREIGN KEY (station_id, report_id) REFERENCES reports (station_id, id),
    FOREIGN KEY (station_id, agency_id) REFERENCES agencies (station_id, id),
    FOREIGN KEY (station_id, proposed_agency_id) REFERENCES agencies (station_id, id)
);
CREATE INDEX referrals_by_report ON referrals (station_id, report_id, created_at);
CREATE UNIQUE INDEX referrals_one_open ON referrals (report_id) WHERE closed_at IS NULL;
CREATE INDEX referrals_by_delivery ON referrals (station_id, delivery, created_at);

-- 4. The agency's answers, each kind at most once per referral.
CREATE TABLE referral_answers (
    referral_id   uuid NOT NULL,
    station_id    uuid NOT NULL,
    answer        text NOT NULL CHECK (answer IN ('accepted', 'in_progress', 'fixed', 'declined')),
    note          text,
    answered_on   date NOT NULL,
    source        text NOT NULL,
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (referral_id, answer),
    FOREIGN KEY (station_id, referral_id) REFERENCES referrals (station_id, id)
);
