-- Schema version 2: position quality flags recorded at submit, and the station's
-- category list cached on the phone so it validates offline.

ALTER TABLE reports ADD COLUMN flag_low_accuracy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN flag_stale INTEGER NOT NULL DEFAULT 0;

-- Converting, not dropping: reports sealed under version 1 get the accuracy flag
-- they would have had (the default threshold, 50 m). Staleness cannot be judged
-- after the fact and stays unset.
UPDATE reports SET flag_low_accuracy = 1 WHERE state <> 'draft' AND accuracy_m > 50.0;

CREATE TABLE categories (
    position  INTEGER PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    name_ko   TEXT NOT NULL,
    name_en   TEXT NOT NULL,
    guidance  TEXT NOT NULL,
    retired   INTEGER NOT NULL DEFAULT 0
) STRICT;
