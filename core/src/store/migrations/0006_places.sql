-- Schema version 6: geography on the phone. A follow-up draft remembers the
-- report it adds to; the watch areas the carrier is inside survive a restart;
-- reports are found by place for "you reported this place before".

-- The report a follow-up adds to (more photos or a note on a report already
-- sealed): always the original, never another follow-up. Sealed with the rest
-- of the content at submit.
ALTER TABLE reports ADD COLUMN follow_up_of TEXT;

-- The sealed-content trigger of version 1, now also guarding follow_up_of.
DROP TRIGGER reports_sealed_content;
CREATE TRIGGER reports_sealed_content
BEFORE UPDATE OF category, note, lat, lon, accuracy_m, altitude_m, fix_time, location_source,
                 created_at, content_json, content_hash, follow_up_of ON reports
WHEN OLD.state <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'report content is sealed');
END;

-- Bounding-box prefilter of nearby_reports: a range on lat, then lon.
CREATE INDEX reports_by_place ON reports (lat, lon);

-- Watch areas the carrier was last found inside, so a restart does not announce
-- them again. The zone is kept as it was entered (without its outline) so that
-- leaving it can still be announced by name if the station removes it.
CREATE TABLE watch_inside (
    code           TEXT PRIMARY KEY NOT NULL,
    zone_json      TEXT NOT NULL,
    entered_at_ms  INTEGER NOT NULL
) STRICT;
