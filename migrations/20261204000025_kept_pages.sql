-- The secretariat's worklist names the oldest joint reports not yet
-- confirmed. Whether an action's current report is confirmed is kept on the
-- action, so that an index holds just those waiting: found through the
-- reports, they were sorted out of all 3,000,000 of them (2.3 s at the xlarge
-- scale, after every change).
alter table actions add column current_confirmed boolean not null default false;

create or replace function refresh_actions(actions bigint[]) returns void language sql as $$
    update actions a
    set status = coalesce(latest.status, 'not_started'),
        progress = coalesce(latest.progress, 0),
        reported_on = latest.reported_on,
        current_update_id = latest.id,
        current_confirmed = coalesce(latest.confirmed_at is not null, false)
    from unnest(actions) c(id)
    left join (
        select distinct on (u.action_id) u.action_id, u.id, u.status, u.progress, u.reported_on,
               u.confirmed_at
        from action_updates u
        where u.action_id = any(actions) and not u.corrected and u.returned_at is null
        order by u.action_id, u.reported_on desc, u.id desc
    ) latest on latest.action_id = c.id
    where a.id = c.id;
$$;

update actions a set current_confirmed = true
from action_updates u
where u.id = a.current_update_id and u.confirmed_at is not null;

create index actions_awaiting_confirmation_idx on actions (reported_on)
    where lead = 'joint' and current_update_id is not null and not current_confirmed;

-- Pages kept until the data changes read these tables too: the list of
-- districts counts communes and finds other spellings; a case study's page
-- shows its mechanisms and its activities' findings by theme.
do $$
declare
    watched text;
begin
    foreach watched in array array[
        'communes', 'district_aliases', 'case_study_mechanisms', 'findings', 'finding_themes']
    loop
        execute format(
            'create trigger %I after insert or update or delete or truncate on %I
             for each statement execute function bump_data_generation()',
            watched || '_moves_data_generation', watched);
    end loop;
end $$;
