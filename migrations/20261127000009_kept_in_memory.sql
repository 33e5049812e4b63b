-- Instances keep sessions, users and heavy figures in memory (src/db/changes.rs).
-- These triggers announce every change that makes what they keep stale, to
-- every instance at once, through LISTEN/NOTIFY: `samleng_data` for the tables
-- behind the figures, `samleng_auth` naming the session or user concerned.
-- Notifications are sent at commit, and identical ones of a transaction once.

create or replace function bump_data_generation() returns trigger language plpgsql as $$
begin
    perform nextval('data_generation');
    perform pg_notify('samleng_data', '');
    return null;
end $$;

create function announce_session_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('samleng_auth', 'session:' || old.id);
    return null;
end $$;
create trigger session_changes_announced after update or delete on tower_sessions.session
    for each row execute function announce_session_change();

-- A user's row, or their unread notifications shown in the header.
create function announce_user_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('samleng_auth', 'user:' || old.id);
    return null;
end $$;
create trigger user_changes_announced after update or delete on users
    for each row execute function announce_user_change();

create function announce_notification_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('samleng_auth', 'user:' || case tg_op when 'DELETE' then old.user_id else new.user_id end);
    return null;
end $$;
create trigger notification_changes_announced after insert or update or delete on notifications
    for each row execute function announce_notification_change();

-- An organization's kind or districts decide what its users may read.
create function announce_users_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('samleng_auth', 'users');
    return null;
end $$;
create trigger organization_changes_announced after update or delete on organizations
    for each statement execute function announce_users_change();
create trigger organization_district_changes_announced
    after insert or update or delete or truncate on organization_districts
    for each statement execute function announce_users_change();

-- Roll-ups kept by the writes that change them, as the actions' current state
-- is (migration 0005), so list pages read a column instead of aggregating.

-- Each activity's participants, from its counts.
alter table activities
    add column participants integer not null default 0,
    add column participants_female integer not null default 0;

create function refresh_activity_participants() returns trigger language plpgsql as $$
begin
    update activities a
    set participants = coalesce(t.total, 0), participants_female = coalesce(t.female, 0)
    from (select distinct activity_id from changed) c
    left join lateral (
        select sum(p.count) as total, sum(p.count) filter (where p.sex = 'female') as female
        from participant_counts p where p.activity_id = c.activity_id
    ) t on true
    where a.id = c.activity_id;
    return null;
end $$;
create trigger participant_counts_inserted_refresh_activities after insert on participant_counts
    referencing new table as changed for each statement execute function refresh_activity_participants();
create trigger participant_counts_updated_refresh_activities after update on participant_counts
    referencing new table as changed for each statement execute function refresh_activity_participants();
create trigger participant_counts_deleted_refresh_activities after delete on participant_counts
    referencing old table as changed for each statement execute function refresh_activity_participants();

update activities a
set participants = t.total, participants_female = t.female
from (select activity_id, sum(count) as total, coalesce(sum(count) filter (where sex = 'female'), 0) as female
      from participant_counts group by activity_id) t
where a.id = t.activity_id;

-- Each list's number of recommendations.
alter table recommendation_lists add column recommendation_count integer not null default 0;

create function refresh_list_counts() returns trigger language plpgsql as $$
begin
    update recommendation_lists l
    set recommendation_count = (select count(*) from recommendations r where r.list_id = l.id)
    where l.id in (select list_id from changed);
    return null;
end $$;
create trigger recommendations_inserted_refresh_lists after insert on recommendations
    referencing new table as changed for each statement execute function refresh_list_counts();
create trigger recommendations_deleted_refresh_lists after delete on recommendations
    referencing old table as changed for each statement execute function refresh_list_counts();

update recommendation_lists l
set recommendation_count = t.n
from (select list_id, count(*) as n from recommendations group by list_id) t
where l.id = t.list_id;

-- Each plan's actions, their average progress (cancelled ones left out), and
-- the due dates of those still open: whether one is overdue depends on the day
-- the page is read, so the page compares them with today.
alter table action_plans
    add column action_count integer not null default 0,
    add column progress integer not null default 0 check (progress between 0 and 100),
    add column open_due_dates date[] not null default '{}';

create function refresh_plan_progress() returns trigger language plpgsql as $$
begin
    update action_plans p
    set action_count = t.actions, progress = t.progress, open_due_dates = t.open_due_dates
    from (select distinct plan_id from changed) c
    cross join lateral (
        select count(*) as actions,
               coalesce(round(avg(a.progress) filter (where a.status <> 'cancelled')), 0) as progress,
               coalesce(array_agg(a.due_on order by a.due_on)
                        filter (where a.status not in ('completed', 'cancelled')), '{}') as open_due_dates
        from actions a where a.plan_id = c.plan_id
    ) t
    where p.id = c.plan_id;
    return null;
end $$;
create trigger actions_inserted_refresh_plans after insert on actions
    referencing new table as changed for each statement execute function refresh_plan_progress();
create trigger actions_updated_refresh_plans after update on actions
    referencing new table as changed for each statement execute function refresh_plan_progress();
create trigger actions_deleted_refresh_plans after delete on actions
    referencing old table as changed for each statement execute function refresh_plan_progress();

update action_plans p
set action_count = t.actions, progress = t.progress, open_due_dates = t.open_due_dates
from (select a.plan_id, count(*) as actions,
             coalesce(round(avg(a.progress) filter (where a.status <> 'cancelled')), 0) as progress,
             coalesce(array_agg(a.due_on order by a.due_on)
                      filter (where a.status not in ('completed', 'cancelled')), '{}') as open_due_dates
      from actions a group by a.plan_id) t
where p.id = t.plan_id;

-- The list pages' orderings, read from indexes instead of sorting every row.
create index case_studies_updated_idx on case_studies (updated_at desc, id desc);
create index recommendation_lists_order_idx on recommendation_lists (district_code, list_version desc, id);
create index action_plans_period_idx on action_plans (period_start desc, id desc);
