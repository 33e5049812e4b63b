-- The due-date reminders told, one per action, kind and due date, so that a
-- reminder is told once however often the daily job runs, and again when the
-- due date moves.
create table action_reminders (
    action_id bigint not null references actions (id) on delete cascade,
    kind text not null check (kind in ('due-soon', 'overdue')),
    due_on date not null,
    told_at timestamptz not null default now(),
    primary key (action_id, kind, due_on)
);
