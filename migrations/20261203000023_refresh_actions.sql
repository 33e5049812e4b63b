-- An action's state is its latest report's (neither corrected nor returned),
-- kept for many actions at once: by the trigger of migration 0007, and by a
-- bulk load such as the benchmark seed, which loads the reports first and
-- then sets every action's state in one pass over them instead of one
-- lookup per action. Same rule as before, one definition.
create function refresh_actions(actions bigint[]) returns void language sql as $$
    update actions a
    set status = coalesce(latest.status, 'not_started'),
        progress = coalesce(latest.progress, 0),
        reported_on = latest.reported_on,
        current_update_id = latest.id
    from unnest(actions) c(id)
    left join (
        select distinct on (u.action_id) u.action_id, u.id, u.status, u.progress, u.reported_on
        from action_updates u
        where u.action_id = any(actions) and not u.corrected and u.returned_at is null
        order by u.action_id, u.reported_on desc, u.id desc
    ) latest on latest.action_id = c.id
    where a.id = c.id;
$$;

create or replace function refresh_action_state() returns trigger language plpgsql as $$
begin
    perform refresh_actions(array(select distinct action_id from changed));
    return null;
end $$;
