-- The dashboard's figures from roll-ups kept by the writes that change them,
-- so its first view after a write reads activities, lists and plans instead of
-- aggregating 300,000 participant counts, 200,000 recommendations and 100,000
-- actions again.

-- Each activity's participants per group, female and male, in this order of
-- groups (as the check on participant_counts lists them).
create function participant_groups() returns text[] language sql immutable as $$
    select array['citizen', 'cbo', 'cso', 'sna_official', 'council_member', 'other']
$$;

alter table activities
    add column female_by_group integer[] not null default '{0,0,0,0,0,0}',
    add column male_by_group integer[] not null default '{0,0,0,0,0,0}';

-- Replaces migration 0009's: the totals now follow from the groups.
create or replace function refresh_activity_participants() returns trigger language plpgsql as $$
begin
    update activities a
    set female_by_group = t.female, male_by_group = t.male,
        participants_female = (select sum(n) from unnest(t.female) n),
        participants = (select sum(n) from unnest(t.female) n) + (select sum(n) from unnest(t.male) n)
    from (
        select c.activity_id,
               array_agg(coalesce(s.female, 0) order by g.i) as female,
               array_agg(coalesce(s.male, 0) order by g.i) as male
        from (select distinct activity_id from changed) c
        cross join unnest(participant_groups()) with ordinality g(name, i)
        left join (
            select p.activity_id, p.participant_group,
                   sum(p.count) filter (where p.sex = 'female') as female,
                   sum(p.count) filter (where p.sex = 'male') as male
            from participant_counts p
            where p.activity_id in (select activity_id from changed)
            group by 1, 2
        ) s on s.activity_id = c.activity_id and s.participant_group = g.name
        group by c.activity_id
    ) t
    where a.id = t.activity_id;
    return null;
end $$;

update activities a
set female_by_group = t.female, male_by_group = t.male
from (
    select c.id as activity_id,
           array_agg(coalesce(s.female, 0) order by g.i) as female,
           array_agg(coalesce(s.male, 0) order by g.i) as male
    from (select distinct activity_id as id from participant_counts) c
    cross join unnest(participant_groups()) with ordinality g(name, i)
    left join (
        select p.activity_id, p.participant_group,
               sum(p.count) filter (where p.sex = 'female') as female,
               sum(p.count) filter (where p.sex = 'male') as male
        from participant_counts p group by 1, 2
    ) s on s.activity_id = c.id and s.participant_group = g.name
    group by c.id
) t
where a.id = t.activity_id;

-- Each list's recommendations that have a priority, and its recommendations
-- per theme (theme_id null: without a theme).
alter table recommendation_lists add column prioritized_count integer not null default 0;

create table list_theme_counts (
    list_id bigint not null references recommendation_lists (id) on delete cascade,
    theme_id bigint references themes (id),
    recommendations integer not null,
    unique nulls not distinct (list_id, theme_id)
);

create function refresh_lists(lists bigint[]) returns void language sql as $$
    update recommendation_lists l
    set recommendation_count = (select count(*) from recommendations r where r.list_id = l.id),
        prioritized_count = (select count(*) from recommendations r where r.list_id = l.id
                             and exists (select 1 from priorities p where p.recommendation_id = r.id))
    where l.id = any(lists);
    delete from list_theme_counts where list_id = any(lists);
    insert into list_theme_counts (list_id, theme_id, recommendations)
    select r.list_id, r.theme_id, count(*) from recommendations r
    where r.list_id = any(lists) group by 1, 2;
$$;

-- Replaces migration 0009's.
create or replace function refresh_list_counts() returns trigger language plpgsql as $$
begin
    perform refresh_lists(array(select distinct list_id from changed));
    return null;
end $$;
create trigger recommendations_updated_refresh_lists after update on recommendations
    referencing new table as changed for each statement execute function refresh_list_counts();

create function refresh_prioritized_lists() returns trigger language plpgsql as $$
begin
    perform refresh_lists(array(select distinct r.list_id from changed c
                                join recommendations r on r.id = c.recommendation_id));
    return null;
end $$;
create trigger priorities_inserted_refresh_lists after insert on priorities
    referencing new table as changed for each statement execute function refresh_prioritized_lists();
create trigger priorities_updated_refresh_lists after update on priorities
    referencing new table as changed for each statement execute function refresh_prioritized_lists();
create trigger priorities_deleted_refresh_lists after delete on priorities
    referencing old table as changed for each statement execute function refresh_prioritized_lists();

select refresh_lists(array(select id from recommendation_lists));

-- Each plan's actions by status (in this order: not started, in progress,
-- completed, blocked, cancelled) and their progress added up, cancelled ones
-- left out.

alter table action_plans
    add column status_counts integer[] not null default '{0,0,0,0,0}',
    add column progress_sum bigint not null default 0;

create function refresh_plans(plans bigint[]) returns void language sql as $$
    update action_plans p
    set action_count = t.actions, progress = t.progress, open_due_dates = t.open_due_dates,
        status_counts = t.status_counts, progress_sum = t.progress_sum
    from unnest(plans) c(plan_id)
    cross join lateral (
        select count(*) as actions,
               coalesce(round(avg(a.progress) filter (where a.status <> 'cancelled')), 0) as progress,
               coalesce(array_agg(a.due_on order by a.due_on)
                        filter (where a.status not in ('completed', 'cancelled')), '{}') as open_due_dates,
               array[count(*) filter (where a.status = 'not_started'),
                     count(*) filter (where a.status = 'in_progress'),
                     count(*) filter (where a.status = 'completed'),
                     count(*) filter (where a.status = 'blocked'),
                     count(*) filter (where a.status = 'cancelled')]::integer[] as status_counts,
               coalesce(sum(a.progress) filter (where a.status <> 'cancelled'), 0) as progress_sum
        from actions a where a.plan_id = c.plan_id
    ) t
    where p.id = c.plan_id;
$$;

-- Replaces migration 0009's.
create or replace function refresh_plan_progress() returns trigger language plpgsql as $$
begin
    perform refresh_plans(array(select distinct plan_id from changed));
    return null;
end $$;

select refresh_plans(array(select id from action_plans));
