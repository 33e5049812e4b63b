-- Searching activities reads trigram indexes (pg_trgm, migration 0002) for
-- their summary and place, as it already does for findings, instead of every
-- row (`ilike '%term%'` is served for terms of 3 characters or more).
create index activities_text_trgm_idx on activities using gin (summary gin_trgm_ops, place gin_trgm_ops);

-- "By district" lists districts in gazetteer order, as the district filter
-- does, newest first within each: read from these indexes, not sorted.
create index activities_district_order_idx on activities (district_code, held_on desc, id desc);
create index case_studies_district_order_idx on case_studies (district_code, updated_at desc, id desc);
