-- 0008: referral to the agency in charge (issue 18, slice 1): agencies,
-- routing rules, referrals and the agencies' answers.
--
-- 1. Agencies a station refers fixes to: the 구청, the city, the post office,
--    the police station itself. Never deleted (retired), so referrals keep
--    pointing at them. The Open311 API key is a secret: stored here because
--    the sender needs it, never returned by any read of an agency (the row
--    readers do not select it; only `agency_api_key` does).
CREATE TABLE agencies (
    id                       TEXT PRIMARY KEY NOT NULL,
    station_id               TEXT NOT NULL REFERENCES stations(id),
    code                     TEXT NOT NULL,
    name_ko                  TEXT NOT NULL,
    name_en                  TEXT NOT NULL,
    kind                     TEXT NOT NULL
        CHECK (kind IN ('district_office', 'city', 'post_office', 'police', 'other')),
    send_method              TEXT NOT NULL CHECK (send_method IN ('open311', 'email', 'manual')),
    open311_endpoint         TEXT,
    open311_jurisdiction_id  TEXT,
    open311_format           TEXT CHECK (open311_format IN ('xml', 'json')),
    open311_api_key          TEXT,
    service_codes_json       TEXT NOT NULL DEFAULT '{}',
    emails_json              TEXT NOT NULL DEFAULT '[]',
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    retired_at               TEXT,
    UNIQUE (station_id, code),
    CHECK (send_method <> 'open311' OR (open311_endpoint IS NOT NULL AND open311_format IS NOT NULL))
) STRICT;

-- 2. Routing rules: (category, district or zone) → agency, first match by
--    priority (lower first). A rule may leave the category or the area open.
CREATE TABLE routing_rules (
    id             TEXT PRIMARY KEY NOT NULL,
    station_id     TEXT NOT NULL REFERENCES stations(id),
    priority       INTEGER NOT NULL CHECK (priority >= 0),
    category       TEXT,
    district_code  TEXT,
    zone_code      TEXT,
    agency_id      TEXT NOT NULL REFERENCES agencies(id),
    created_at     TEXT NOT NULL,
    UNIQUE (station_id, priority),
    CHECK (district_code IS NULL OR zone_code IS NULL)
) STRICT;

-- 3. Referrals: a report sent to an agency, with the supervisor's text (the
--    carrier's note is never copied in). `delivery` is where the sending
--    stands: `manual` (nothing to send; the supervisor contacts the agency)
--    or `waiting` (to be sent by the referral's method once its sender
--    runs; the outbox of a later slice takes these up and adds its states).
--    At most one open referral per report.
CREATE TABLE referrals (
    id                  TEXT PRIMARY KEY NOT NULL,
    station_id          TEXT NOT NULL REFERENCES stations(id),
    report_id           TEXT NOT NULL REFERENCES reports(id),
    agency_id           TEXT NOT NULL REFERENCES agencies(id),
    send_method         TEXT NOT NULL CHECK (send_method IN ('open311', 'email', 'manual')),
    delivery            TEXT NOT NULL,
    body                TEXT NOT NULL,
    proposed_agency_id  TEXT REFERENCES agencies(id),
    created_by          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    closed_at           TEXT
) STRICT;
CREATE INDEX referrals_by_report ON referrals (station_id, report_id, created_at);
CREATE UNIQUE INDEX referrals_one_open ON referrals (report_id) WHERE closed_at IS NULL;
CREATE INDEX referrals_by_delivery ON referrals (station_id, delivery, created_at);

-- 4. The agency's answers to a referral, each kind at most once; `fixed` and
--    `declined` close it. `source` says who recorded it (`supervisor` by hand;
--    later slices add the Open311 status poll).
CREATE TABLE referral_answers (
    referral_id   TEXT NOT NULL REFERENCES referrals(id),
    station_id    TEXT NOT NULL REFERENCES stations(id),
    answer        TEXT NOT NULL CHECK (answer IN ('accepted', 'in_progress', 'fixed', 'declined')),
    note          TEXT,
    answered_on   TEXT NOT NULL,
    source        TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    PRIMARY KEY (referral_id, answer)
) STRICT;
