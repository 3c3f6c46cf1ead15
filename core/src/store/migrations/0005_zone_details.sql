-- Schema version 5: zones carry a kind (beat, watch area, jurisdiction), names
-- in Korean and English, guidance and validity. The whole zone as the station
-- sent it is kept as JSON; the older columns stay for reading zones stored by
-- version 4 until the next zone entry of the feed replaces them.

ALTER TABLE zones ADD COLUMN zone_json TEXT;
