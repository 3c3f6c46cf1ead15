-- 0006 (PostgreSQL): merging duplicates; equivalent to the SQLite backend's
-- migration 0007. A merged report (status `merged`) names the report it was
-- folded into, within its station; that report shows the merged reports'
-- photos as related photos through this column.
ALTER TABLE reports
    ADD COLUMN merged_into uuid,
    ADD FOREIGN KEY (station_id, merged_into) REFERENCES reports (station_id, id);

CREATE INDEX reports_merged_into ON reports (station_id, merged_into)
    WHERE merged_into IS NOT NULL;
