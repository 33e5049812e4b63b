-- The audit log is append-only for everyone: no statement may change or remove
-- an event, whoever runs it. The application's own role is refused by its
-- grants too (below).
create function refuse_audit_rewrite() returns trigger language plpgsql as $$
begin
    raise exception 'audit_events is append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end $$;

create trigger audit_events_append_only
    before update or delete on audit_events
    for each row execute function refuse_audit_rewrite();
create trigger audit_events_never_truncated
    before truncate on audit_events
    for each statement execute function refuse_audit_rewrite();

-- Requests refused for who sent them (403), forged (CSRF) or too many (rate
-- limit): one row per kind, user, address and route per hour, counting
-- repeats, so that a flood of refusals cannot fill the disk.
create table audit_refusals (
    id bigint generated always as identity primary key,
    hour timestamptz not null,
    kind text not null check (kind in ('forbidden', 'csrf', 'rate_limited')),
    actor_id bigint references users (id),
    ip text not null default '',
    route text not null,
    count integer not null default 1 check (count > 0),
    last_at timestamptz not null default now()
);
create unique index audit_refusals_once_per_hour_idx
    on audit_refusals (hour, kind, coalesce(actor_id, 0), ip, route);
create index audit_refusals_last_at_idx on audit_refusals (last_at desc);

-- Internal text (activity summaries and places, internal findings) is read by
-- the secretariat everywhere, NGO staff in their districts, and officials in
-- theirs except what citizens said alone (FGDs and interviews). The
-- `ReadInternalText` rule of auth/policy.rs, for queries over many districts;
-- its arguments come from `policy::internal_text_scope`.
create function reads_internal_text(
    district text, kind text, everywhere boolean, districts text[], meeting_districts text[]
) returns boolean language sql immutable as $$
    select everywhere
        or district = any(districts)
        or (district = any(meeting_districts) and kind not in ('fgd', 'interview'))
$$;

-- The application serves as `samleng_app`, a role that owns nothing and is
-- not a superuser: it reads and writes the data, and may only add to the audit
-- log. Migrations run as the owner. Creating the role needs CREATEROLE; where
-- the owner lacks it, an administrator creates the role (README).
do $$
begin
    if not exists (select from pg_roles where rolname = 'samleng_app') then
        create role samleng_app nologin;
    end if;
exception when insufficient_privilege then
    raise notice 'cannot create role samleng_app; create it and re-run the grants (README)';
end $$;

do $$
begin
    if exists (select from pg_roles where rolname = 'samleng_app') then
        grant usage on schema public, tower_sessions to samleng_app;
        grant select, insert, update, delete on all tables in schema public to samleng_app;
        grant select, insert, update, delete on tower_sessions.session to samleng_app;
        revoke update, delete, truncate on audit_events from samleng_app;
        revoke delete, truncate on audit_refusals from samleng_app;
        grant usage, select on all sequences in schema public to samleng_app;
        if to_regclass('_sqlx_migrations') is not null then
            revoke all on _sqlx_migrations from samleng_app;
        end if;
        -- Tables and sequences of later migrations, which the owner creates.
        alter default privileges in schema public
            grant select, insert, update, delete on tables to samleng_app;
        alter default privileges in schema public
            grant usage, select on sequences to samleng_app;
    end if;
end $$;

-- Recommendations are edited in place while their list is a draft: two people
-- editing one item must not silently overwrite each other (web::versioned).
alter table recommendations add column version integer not null default 1;

-- Findings are corrected in place (each save a revision) and, when one names
-- someone by mistake, redacted: its text is removed from the finding and from
-- every revision of it, leaving who redacted it, when and why.
alter table findings
    add column version integer not null default 1,
    add column redacted_at timestamptz,
    add column redacted_by bigint references users (id),
    add column redaction_reason text not null default '',
    drop constraint findings_check,
    add constraint findings_text_unless_redacted
        check (text_en <> '' or text_km <> '' or redacted_at is not null);
alter table revisions
    drop constraint revisions_entity_check,
    add constraint revisions_entity_check check (entity in ('case_study', 'activity', 'finding'));

-- The secretariat can take a submitted list back to draft (with its reason),
-- before the district's officials have acted on it.
alter table endorsements
    drop constraint endorsements_transition_check,
    add constraint endorsements_transition_check
        check (transition in ('submitted', 'endorsed', 'returned', 'reopened', 'withdrawn'));

-- Other spellings people use for a district (the 2021 report's "Banna",
-- "Komreing", "Battambang krong", common romanizations), found by the district
-- search case- and accent-insensitively. Battambang's ship with the app.
create extension if not exists unaccent;
create table district_aliases (
    district_code text not null references districts (code) on delete cascade,
    alias text not null check (alias <> '')
);
create unique index district_aliases_once_idx on district_aliases (district_code, lower(alias));
insert into district_aliases (district_code, alias) values
    ('0201', 'Banna'), ('0201', 'Banon'),
    ('0202', 'Thma Kuol'), ('0202', 'Thmar Kol'), ('0202', 'Thmor Koul'),
    ('0203', 'Battambang krong'), ('0203', 'Krong Battambang'), ('0203', 'Battambang municipality'),
    ('0203', 'Batdambang'),
    ('0204', 'Bovel'),
    ('0205', 'Ek Phnom'), ('0205', 'Aek Phnom'),
    ('0206', 'Moung Russei'), ('0206', 'Mong Russei'), ('0206', 'Moung Ruessey'),
    ('0207', 'Ratanak Mondol'), ('0207', 'Rattanak Mondul'), ('0207', 'Rotanak Mondol'),
    ('0208', 'Sangke'),
    ('0209', 'Samlot'),
    ('0210', 'Sampov Loun'), ('0210', 'Sampeou Loun'),
    ('0211', 'Phnom Proek'), ('0211', 'Phnom Preuk'),
    ('0212', 'Komreing'), ('0212', 'Kamreang'), ('0212', 'Kamrieng district'),
    ('0213', 'Koh Kralor'), ('0213', 'Koas Kralor'),
    ('0214', 'Rukhak Kiri'), ('0214', 'Rukhakiri');

-- The secretariat's worklist reads the open actions by due date and the
-- unconfirmed reports by date without scanning all of them.
create index actions_open_due_on_idx on actions (due_on)
    where status not in ('completed', 'cancelled');
create index action_updates_unconfirmed_idx on action_updates (reported_on)
    where confirmed_at is null;
