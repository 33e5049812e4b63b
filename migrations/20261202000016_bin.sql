-- Field records deleted by their writers (activities, findings, attachments)
-- wait in the bin for 30 days, where the secretariat can restore them, and are
-- then purged with their history (src/deleted/). An entry holds every row the
-- deletion took, table by table, in the order they go back.
create table bin (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('activity', 'finding', 'attachment')),
    record_id bigint not null,
    -- Where the record was (a district, or a province for a provincial
    -- plan's report), for the secretariat's list.
    place_code text,
    -- [{"table": "activities", "rows": [...]}, ...]
    contents jsonb not null,
    -- The stored files of the attachments it took: they stay in the store
    -- until the entry is purged.
    files text[] not null default '{}',
    deleted_by bigint references users (id),
    deleted_at timestamptz not null default now(),
    unique (kind, record_id)
);
create index bin_deleted_at_idx on bin (deleted_at);

-- One table's rows for an entry's contents.
create function bin_part(table_name text, rows jsonb) returns jsonb language sql as $$
    select jsonb_build_object('table', table_name, 'rows', coalesce(rows, '[]'::jsonb))
$$;

-- Moves a record and everything that hangs on it into the bin, and deletes it
-- (its counts, findings and themes go with the activity's cascade). Returns
-- the entry's id. The caller has checked that nothing else refers to it.
create function bin_put(entry_kind text, entry_record bigint, actor bigint, place text)
returns bigint language plpgsql as $$
declare
    taken jsonb;
    stored text[];
    entry bigint;
begin
    if entry_kind = 'activity' then
        taken := jsonb_build_array(
            bin_part('activities', (select jsonb_agg(to_jsonb(a)) from activities a where a.id = entry_record)),
            bin_part('participant_counts', (select jsonb_agg(to_jsonb(c)) from participant_counts c where c.activity_id = entry_record)),
            bin_part('findings', (select jsonb_agg(to_jsonb(f)) from findings f where f.activity_id = entry_record)),
            bin_part('finding_themes', (select jsonb_agg(to_jsonb(t)) from finding_themes t
                                        join findings f on f.id = t.finding_id where f.activity_id = entry_record)),
            bin_part('attachments', (select jsonb_agg(to_jsonb(x)) from attachments x
                                     where x.parent = 'activity' and x.parent_id = entry_record)),
            bin_part('revisions', (select jsonb_agg(to_jsonb(r)) from revisions r
                                   where (r.entity = 'activity' and r.entity_id = entry_record)
                                      or (r.entity = 'finding' and r.entity_id in
                                          (select id from findings where activity_id = entry_record)))),
            bin_part('imported_rows', (select jsonb_agg(to_jsonb(i)) from imported_rows i where i.activity_id = entry_record)));
        stored := array(select stored_name from attachments where parent = 'activity' and parent_id = entry_record);
        delete from revisions where (entity = 'activity' and entity_id = entry_record)
            or (entity = 'finding' and entity_id in (select id from findings where activity_id = entry_record));
        delete from attachments where parent = 'activity' and parent_id = entry_record;
        delete from activities where id = entry_record;
    elsif entry_kind = 'finding' then
        taken := jsonb_build_array(
            bin_part('findings', (select jsonb_agg(to_jsonb(f)) from findings f where f.id = entry_record)),
            bin_part('finding_themes', (select jsonb_agg(to_jsonb(t)) from finding_themes t where t.finding_id = entry_record)),
            bin_part('revisions', (select jsonb_agg(to_jsonb(r)) from revisions r
                                   where r.entity = 'finding' and r.entity_id = entry_record)));
        stored := '{}';
        delete from revisions where entity = 'finding' and entity_id = entry_record;
        delete from findings where id = entry_record;
    else
        taken := jsonb_build_array(
            bin_part('attachments', (select jsonb_agg(to_jsonb(x)) from attachments x where x.id = entry_record)));
        stored := array(select stored_name from attachments where id = entry_record);
        delete from attachments where id = entry_record;
    end if;
    insert into bin (kind, record_id, place_code, contents, files, deleted_by)
        values (entry_kind, entry_record, place, taken, stored, actor)
        returning id into entry;
    return entry;
end $$;

-- Whether the record an attachment belongs to still exists.
create function attachment_parent_exists(parent_kind text, parent bigint) returns boolean
language sql stable as $$
    select case parent_kind
        when 'activity' then exists (select 1 from activities where id = parent)
        when 'case_study' then exists (select 1 from case_studies where id = parent)
        when 'recommendation_list' then exists (select 1 from recommendation_lists where id = parent)
        when 'action_update' then exists (select 1 from action_updates where id = parent)
        else false
    end
$$;

-- Puts an entry's rows back, with their ids, and takes the entry out of the
-- bin; null when it is not there (restored or purged meanwhile). A record
-- whose parent is gone raises a foreign-key violation, as a write would.
-- Rows of an import keep their line and find their activity again.
create function bin_restore(entry bigint) returns bin language plpgsql as $$
declare
    restored bin;
    part jsonb;
    target regclass;
    columns text;
begin
    delete from bin where id = entry returning * into restored;
    if not found then
        return null;
    end if;
    for part in select * from jsonb_array_elements(restored.contents) loop
        target := (part ->> 'table')::regclass;
        if target = 'imported_rows'::regclass then
            update imported_rows i set activity_id = r.activity_id
              from jsonb_populate_recordset(null::imported_rows, part -> 'rows') r
             where i.import_id = r.import_id and i.line = r.line;
            continue;
        end if;
        if target = 'attachments'::regclass and exists (
            select 1 from jsonb_populate_recordset(null::attachments, part -> 'rows') x
             where not attachment_parent_exists(x.parent, x.parent_id)) then
            raise foreign_key_violation using message = 'the record this attachment belongs to is gone';
        end if;
        -- Generated columns are computed again; every other column comes back.
        select string_agg(quote_ident(attname), ', ' order by attnum) into columns
          from pg_attribute
         where attrelid = target and attnum > 0 and not attisdropped and attgenerated = '';
        execute format('insert into %s (%s) overriding system value select %s from jsonb_populate_recordset(null::%s, $1)',
                       target, columns, columns, target)
          using part -> 'rows';
    end loop;
    return restored;
end $$;
