-- 0004: PLACEHOLDER on branch geo-b. The real 0004 (zone kind, English name,
-- guidance and validity, import/export) is another branch's; at merge, take
-- theirs and drop this file. It exists so that 0005 runs as version 5 here.
SELECT 1;
