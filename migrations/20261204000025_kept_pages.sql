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

-- The list of districts is kept until the gazetteer changes: its communes
-- and other spellings move the data generation too.
create trigger communes_moves_data_generation
    after insert or update or delete or truncate on communes
    for each statement execute function bump_data_generation();
create trigger district_aliases_moves_data_generation
    after insert or update or delete or truncate on district_aliases
    for each statement execute function bump_data_generation();

-- A case study's page is kept until the data changes, its findings and
-- mechanisms with it.
create trigger case_study_mechanisms_moves_data_generation
    after insert or update or delete or truncate on case_study_mechanisms
    for each statement execute function bump_data_generation();
create trigger findings_moves_data_generation
    after insert or update or delete or truncate on findings
    for each statement execute function bump_data_generation();
create trigger finding_themes_moves_data_generation
    after insert or update or delete or truncate on finding_themes
    for each statement execute function bump_data_generation();
