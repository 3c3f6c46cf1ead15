-- Placeholder so the console branch has a contiguous migration list; the
-- zones and geography branches bring the real file under this name.
SELECT 1;
