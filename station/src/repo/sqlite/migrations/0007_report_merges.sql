-- 0007: merging duplicates. A merged report (status `merged`) names the report
-- it was folded into, the one already being handled; that report shows the
-- merged reports' photos as related photos, read through this column (its
-- own sealed content never changes). NULL for every report not merged.
ALTER TABLE reports ADD COLUMN merged_into TEXT REFERENCES reports(id);

-- The reports merged into one (and, recursively, into those).
CREATE INDEX reports_merged_into ON reports (station_id, merged_into)
    WHERE merged_into IS NOT NULL;
