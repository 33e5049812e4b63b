-- District boundaries for the dashboard map, imported as GeoJSON by an
-- administrator. Stored already projected and simplified as an SVG path in one
-- national frame (0..1000 wide), so a page only selects and prints them.
create table district_shapes (
    district_code text primary key references districts (code),
    path text not null check (path <> ''),
    min_x real not null,
    min_y real not null,
    max_x real not null,
    max_y real not null,
    imported_at timestamptz not null default now()
);

-- Dashboard figures are cached by the application under this number, which
-- every statement changing a table they are computed from moves on. A sequence,
-- because it never blocks or rolls back: concurrent writers do not wait on it.
create sequence data_generation;

create function bump_data_generation() returns trigger language plpgsql as $$
begin
    perform nextval('data_generation');
    return null;
end $$;

do $$
declare
    watched text;
begin
    foreach watched in array array[
        'provinces', 'districts', 'district_shapes', 'themes', 'studies', 'organizations',
        'case_studies', 'activities', 'participant_counts', 'recommendation_lists',
        'recommendations', 'priorities', 'action_plans', 'actions', 'action_updates']
    loop
        execute format(
            'create trigger %I after insert or update or delete or truncate on %I
             for each statement execute function bump_data_generation()',
            watched || '_moves_data_generation', watched);
    end loop;
end $$;

-- The newest-first list of activities, without sorting every row.
create index activities_held_on_idx on activities (held_on desc, id desc);
create index case_studies_study_id_idx on case_studies (study_id);
-- The workshops offered when setting priorities, without scanning every activity.
create index activities_workshops_idx on activities (held_on desc)
    where kind in ('provincial_workshop', 'national_workshop');
create index recommendations_theme_id_idx on recommendations (theme_id);
-- The priority pages rank a province's endorsed recommendations by theme and
-- position without reading their text.
create index recommendations_list_rank_idx on recommendations (list_id) include (theme_id, position);
create index action_plans_province_code_idx on action_plans (province_code);

-- Each action's current state, kept on the action: the latest progress report
-- by date, then by arrival ("not started" before the first). Triggers keep it
-- whatever writes the reports, so lists and the dashboard read a column
-- instead of looking up the latest of 300,000 reports per action.
alter table actions
    add column status text not null default 'not_started'
        check (status in ('not_started', 'in_progress', 'completed', 'blocked', 'cancelled')),
    add column progress integer not null default 0 check (progress between 0 and 100),
    add column reported_on date,
    add column current_update_id bigint;

create function refresh_action_state() returns trigger language plpgsql as $$
begin
    update actions a
    set status = coalesce(latest.status, 'not_started'),
        progress = coalesce(latest.progress, 0),
        reported_on = latest.reported_on,
        current_update_id = latest.id
    from (select distinct action_id from changed) c
    left join lateral (
        select u.id, u.status, u.progress, u.reported_on from action_updates u
        where u.action_id = c.action_id order by u.reported_on desc, u.id desc limit 1
    ) latest on true
    where a.id = c.action_id;
    return null;
end $$;

create trigger action_updates_inserted_refresh_actions after insert on action_updates
    referencing new table as changed for each statement execute function refresh_action_state();
create trigger action_updates_updated_refresh_actions after update on action_updates
    referencing new table as changed for each statement execute function refresh_action_state();
create trigger action_updates_deleted_refresh_actions after delete on action_updates
    referencing old table as changed for each statement execute function refresh_action_state();

update actions a
set status = latest.status, progress = latest.progress, reported_on = latest.reported_on,
    current_update_id = latest.id
from (select distinct on (u.action_id) u.action_id, u.id, u.status, u.progress, u.reported_on
      from action_updates u order by u.action_id, u.reported_on desc, u.id desc) latest
where a.id = latest.action_id;
-- A plan's roll-up reads its actions' state from the index alone.
drop index actions_plan_id_idx;
create index actions_plan_state_idx on actions (plan_id) include (status, progress, due_on);

-- What the dashboard and the exports count, defined once: the records matching
-- the filters (study, province, district, from, to; '' and null mean "any") that
-- a reader may see. `everywhere` is true for the secretariat; otherwise
-- `own_districts` are the districts whose unpublished records the reader may
-- see (an NGO's or an official's; none for donors). Plain SQL functions, which
-- PostgreSQL inlines into the calling query.

-- Activities: everywhere, in the reader's districts, or part of a published case study.
create function visible_activities(
    study bigint, province text, district text, since date, until date,
    everywhere boolean, own_districts text[]
) returns setof activities language sql stable as $$
    select a.*
    from activities a
    left join case_studies c on c.id = a.case_study_id
    where (study is null or a.study_id = study)
      and (province = '' or left(a.district_code, 2) = province)
      and (district = '' or a.district_code = district)
      and (since is null or a.held_on >= since)
      and (until is null or a.held_on <= until)
      and (everywhere or a.district_code = any(own_districts)
           or c.status in ('published', 'archived'))
$$;

-- Case studies, dated by publication (or creation, while unpublished).
create function visible_case_studies(
    study bigint, province text, district text, since date, until date,
    everywhere boolean, own_districts text[]
) returns setof case_studies language sql stable as $$
    select c.*
    from case_studies c
    where (study is null or c.study_id = study)
      and (province = '' or left(c.district_code, 2) = province)
      and (district = '' or c.district_code = district)
      and (since is null or coalesce(c.published_at, c.created_at)::date >= since)
      and (until is null or coalesce(c.published_at, c.created_at)::date <= until)
      and (everywhere or c.district_code = any(own_districts)
           or c.status in ('published', 'archived'))
$$;

-- The current version of each recommendation list (superseded ones are history),
-- dated by its joint consultation; endorsed lists are for every reader.
create function visible_recommendation_lists(
    study bigint, province text, district text, since date, until date,
    everywhere boolean, own_districts text[]
) returns setof recommendation_lists language sql stable as $$
    select l.*
    from recommendation_lists l
    left join activities consultation on consultation.id = l.consultation_id
    where l.status <> 'superseded'
      and (study is null or l.study_id = study)
      and (province = '' or left(l.district_code, 2) = province)
      and (district = '' or l.district_code = district)
      and (since is null or coalesce(consultation.held_on, l.created_at::date) >= since)
      and (until is null or coalesce(consultation.held_on, l.created_at::date) <= until)
      and (everywhere or l.district_code = any(own_districts) or l.status = 'endorsed')
$$;

-- Actions whose period overlaps the dates, with their current state. Action
-- plans are for every reader. A province-level plan has no district.
create function current_actions(
    study bigint, province text, district text, since date, until date
) returns table (
    id bigint, plan_id bigint, district_code text, province_code text, due_on date,
    status text, progress integer, reported_on date, update_id bigint
) language sql stable as $$
    select a.id, a.plan_id, p.district_code, p.province_code, a.due_on,
           a.status, a.progress, a.reported_on, a.current_update_id
    from actions a
    join action_plans p on p.id = a.plan_id
    where (study is null or p.study_id = study)
      and (province = '' or p.province_code = province)
      and (district = '' or p.district_code = district)
      and (since is null or a.due_on >= since)
      and (until is null or a.starts_on <= until)
$$;
