-- A progress report is never rewritten. A mistake is corrected by a new report
-- that names the one it corrects (both stay visible); the secretariat may send
-- a report back to its author with a reason. An action's current state follows
-- its latest report that is neither corrected nor returned.
alter table action_updates
    add column corrects_id bigint unique references action_updates (id),
    add column corrected boolean not null default false,
    add column returned_by bigint references users (id),
    add column returned_at timestamptz,
    add column return_reason text not null default '',
    add constraint action_updates_returned_with_reason
        check ((returned_at is null) = (return_reason = ''));

create or replace function refresh_action_state() returns trigger language plpgsql as $$
begin
    update actions a
    set status = coalesce(latest.status, 'not_started'),
        progress = coalesce(latest.progress, 0),
        reported_on = latest.reported_on,
        current_update_id = latest.id
    from (select distinct action_id from changed) c
    left join lateral (
        select u.id, u.status, u.progress, u.reported_on from action_updates u
        where u.action_id = c.action_id and not u.corrected and u.returned_at is null
        order by u.reported_on desc, u.id desc limit 1
    ) latest on true
    where a.id = c.action_id;
    return null;
end $$;

-- Endorsements given on signed paper (the 2021 cycle): the secretariat records
-- the day it was given, the endorser's name and position, and the scanned
-- letter. The row's actor is who recorded it, `at` when.
alter table endorsements
    add column given_on date,
    add column letter_attachment_id bigint,
    add constraint endorsements_paper_has_letter
        check ((given_on is null) = (letter_attachment_id is null)),
    add constraint endorsements_paper_is_endorsement
        check (given_on is null or transition = 'endorsed');

-- Recommendation lists take attachments: minutes, signed letters.
alter table attachments drop constraint attachments_parent_check;
alter table attachments add constraint attachments_parent_check
    check (parent in ('activity', 'case_study', 'action_update', 'recommendation_list'));
alter table endorsements
    add constraint endorsements_letter_fkey foreign key (letter_attachment_id) references attachments (id);
