-- Searching activities reads trigram indexes (pg_trgm, migration 0002) for
-- their summary and place, as it already does for findings, instead of every
-- row (`ilike '%term%'` is served for terms of 3 characters or more).
create index activities_text_trgm_idx on activities using gin (summary gin_trgm_ops, place gin_trgm_ops);
