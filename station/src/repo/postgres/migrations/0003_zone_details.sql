-- 0003 (PostgreSQL): zones become beats, watch areas or the station's
-- jurisdiction, with a theme (watch areas), an English name, guidance for
-- carriers and a validity; the feed gains per-zone deltas (`zone`) next to
-- the old whole lists (`zones`), which stay readable. Existing zones are
-- beats. Equivalent to the SQLite backend's migration 0004.

ALTER TABLE zones
    ADD COLUMN kind text NOT NULL DEFAULT 'beat'
        CHECK (kind IN ('beat', 'watch_area', 'jurisdiction')),
    ADD COLUMN theme text,
    ADD COLUMN name_en text,
    ADD COLUMN guidance text,
    ADD COLUMN valid_from timestamptz,
    ADD COLUMN valid_until timestamptz,
    ADD CONSTRAINT zones_validity_check CHECK (valid_until > valid_from);

ALTER TABLE changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check
    CHECK (kind IN ('report', 'categories', 'zones', 'zone'));
