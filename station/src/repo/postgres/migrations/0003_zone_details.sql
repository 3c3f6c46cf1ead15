-- 0003 (PostgreSQL): PLACEHOLDER on branch geo-b. The real 0003 (zone kind,
-- English name, guidance and validity, import/export) is another branch's;
-- at merge, take theirs and drop this file. It exists so that 0004 runs as
-- version 4 here.
SELECT 1;
