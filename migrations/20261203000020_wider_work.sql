-- The coalition's wider work (docs/design.md, "Projects, agreements and
-- events"): funded projects, partnership agreements, events held at any level
-- (national, provincial, district, commune) and the news the secretariat
-- publishes of them. The district field records (`activities`) are untouched.

-- Agreements are signed with provincial departments and ministries
-- ("government") and with private companies ("company") too.
alter table organizations drop constraint organizations_kind_check;
alter table organizations add constraint organizations_kind_check
    check (kind in ('secretariat', 'member_ngo', 'sna', 'donor', 'partner', 'government', 'company'));

create table projects (
    id bigint generated always as identity primary key,
    title_en text not null check (title_en <> ''),
    title_km text not null default '',
    lead_organization_id bigint not null references organizations (id),
    starts_on date not null,
    ends_on date not null check (ends_on >= starts_on),
    -- Whole units of the currency: project budgets are never kept in cents.
    budget bigint check (budget >= 0),
    currency text not null default 'USD' check (currency in ('USD', 'KHR', 'EUR')),
    status text not null default 'planned' check (status in ('planned', 'active', 'closed')),
    -- Published projects are read by everyone signed in, donors included.
    published boolean not null default false,
    version integer not null default 1,
    created_at timestamptz not null default now()
);

-- Funders and partners: the organizations that take part, with the lead.
create table project_organizations (
    project_id bigint not null references projects (id) on delete cascade,
    organization_id bigint not null references organizations (id),
    role text not null check (role in ('funder', 'partner')),
    primary key (project_id, role, organization_id)
);
create index project_organizations_organization_idx on project_organizations (organization_id);

create table project_provinces (
    project_id bigint not null references projects (id) on delete cascade,
    province_code text not null references provinces (code),
    primary key (project_id, province_code)
);

create table project_districts (
    project_id bigint not null references projects (id) on delete cascade,
    district_code text not null references districts (code),
    primary key (project_id, district_code)
);

-- Does `organization` lead, fund or partner `project`? The one rule of who
-- besides the secretariat reads a project (auth::policy, `ReadProgramme`).
create function takes_part_in_project(project bigint, organization bigint) returns boolean
language sql stable as $$
    select exists (select 1 from projects where id = project and lead_organization_id = organization)
        or exists (select 1 from project_organizations where project_id = project and organization_id = organization)
$$;

alter table studies add column project_id bigint references projects (id);
create index studies_project_id_idx on studies (project_id) where project_id is not null;

create table agreements (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('mou', 'grant_agreement', 'letter_of_intent', 'contract', 'other')),
    title_en text not null check (title_en <> ''),
    title_km text not null default '',
    project_id bigint references projects (id),
    signed_on date,
    valid_until date,
    status text not null default 'draft' check (status in ('draft', 'signed', 'ended', 'expired')),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    check (status = 'draft' or signed_on is not null),
    check (valid_until is null or signed_on is null or valid_until >= signed_on)
);
create index agreements_project_id_idx on agreements (project_id);
create index agreements_valid_until_idx on agreements (valid_until) where status = 'signed';

create table agreement_parties (
    agreement_id bigint not null references agreements (id) on delete cascade,
    organization_id bigint not null references organizations (id),
    primary key (agreement_id, organization_id)
);
create index agreement_parties_organization_idx on agreement_parties (organization_id);

create table agreement_provinces (
    agreement_id bigint not null references agreements (id) on delete cascade,
    province_code text not null references provinces (code),
    primary key (agreement_id, province_code)
);

-- Each reminder before an agreement runs out is sent once: keyed by the day
-- it runs out, so that extending the agreement starts them again.
create table agreement_reminders (
    agreement_id bigint not null references agreements (id) on delete cascade,
    days_before integer not null check (days_before in (60, 14)),
    valid_until date not null,
    sent_at timestamptz not null default now(),
    primary key (agreement_id, days_before, valid_until)
);

-- Does `organization` read `agreement`: a party to it, or taking part in its project?
create function takes_part_in_agreement(agreement bigint, organization bigint) returns boolean
language sql stable as $$
    select exists (select 1 from agreement_parties where agreement_id = agreement and organization_id = organization)
        or exists (select 1 from agreements a where a.id = agreement and a.project_id is not null
                   and takes_part_in_project(a.project_id, organization))
$$;

create table events (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('workshop', 'orientation', 'signing', 'meeting', 'training', 'forum', 'other')),
    level text not null check (level in ('national', 'provincial', 'district', 'commune')),
    title_en text not null check (title_en <> ''),
    title_km text not null default '',
    starts_on date not null check (starts_on >= date '2000-01-01'),
    ends_on date not null,
    province_code text references provinces (code),
    district_code text references districts (code),
    commune_code text references communes (code),
    venue text not null default '',
    summary_en text not null default '',
    summary_km text not null default '',
    organizer_id bigint not null references organizations (id),
    project_id bigint references projects (id),
    agreement_id bigint references agreements (id),
    -- As on activities (migration 14): the secret that gives each count its
    -- rounding, the same way on every save.
    disclosure_secret uuid not null default gen_random_uuid(),
    participants integer not null default 0,
    participants_female integer not null default 0,
    rounded_participants integer not null default 0,
    rounded_participants_female integer not null default 0,
    version integer not null default 1,
    created_by bigint references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (ends_on >= starts_on and ends_on - starts_on <= 60),
    -- The place is as precise as the level, no more and no less.
    check ((level = 'national') = (province_code is null)),
    check ((level in ('district', 'commune')) = (district_code is not null)),
    check ((level = 'commune') = (commune_code is not null)),
    check (district_code is null or left(district_code, 2) = province_code),
    check (commune_code is null or left(commune_code, 4) = district_code)
);
create index events_starts_on_idx on events (starts_on desc, id desc);
create index events_project_id_idx on events (project_id) where project_id is not null;
create index events_agreement_id_idx on events (agreement_id) where agreement_id is not null;

create table event_partners (
    event_id bigint not null references events (id) on delete cascade,
    organization_id bigint not null references organizations (id),
    primary key (event_id, organization_id)
);

-- Does `organization` take part in `event`: organizing it, a partner at it,
-- or taking part in its project or agreement? Its files not marked public are
-- for those who do (and the secretariat).
create function takes_part_in_event(event bigint, organization bigint) returns boolean
language sql stable as $$
    select exists (select 1 from events e where e.id = event and (
               e.organizer_id = organization
               or exists (select 1 from event_partners p where p.event_id = e.id and p.organization_id = organization)
               or (e.project_id is not null and takes_part_in_project(e.project_id, organization))
               or (e.agreement_id is not null and takes_part_in_agreement(e.agreement_id, organization))))
$$;

-- Participants by the kind of organization they came from, and sex.
create table event_participants (
    event_id bigint not null references events (id) on delete cascade,
    organization_kind text not null check (organization_kind in
        ('government', 'sna', 'cso', 'cbo', 'private_sector', 'development_partner', 'citizen', 'other')),
    sex text not null check (sex in ('female', 'male')),
    count integer not null check (count between 0 and 100000),
    primary key (event_id, organization_kind, sex)
);

-- The event's totals, exact and as outsiders see them (sums of rounded
-- counts, docs/disclosure.md), written after every save of its counts.
create function refresh_event_participants(event bigint) returns void language sql as $$
    update events e
    set participants = coalesce(t.total, 0), participants_female = coalesce(t.female, 0),
        rounded_participants = coalesce(t.rounded_total, 0),
        rounded_participants_female = coalesce(t.rounded_female, 0)
    from (select sum(p.count) as total,
                 sum(p.count) filter (where p.sex = 'female') as female,
                 sum(rounded_count(p.count, count_key(x.disclosure_secret, p.organization_kind || ' ' || p.sex))) as rounded_total,
                 sum(rounded_count(p.count, count_key(x.disclosure_secret, p.organization_kind || ' ' || p.sex)))
                     filter (where p.sex = 'female') as rounded_female
          from events x left join event_participants p on p.event_id = x.id
          where x.id = event) t
    where e.id = event;
$$;

alter table attachments drop constraint attachments_parent_check;
alter table attachments add constraint attachments_parent_check
    check (parent in ('activity', 'case_study', 'action_update', 'recommendation_list', 'event', 'agreement'));

-- An event told as news, in both languages: one item per event.
create table news_items (
    id bigint generated always as identity primary key,
    event_id bigint not null unique references events (id) on delete cascade,
    headline_en text not null check (headline_en <> ''),
    headline_km text not null default '',
    body_en text not null default '',
    body_km text not null default '',
    published_at timestamptz,
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index news_items_published_idx on news_items (published_at desc) where published_at is not null;

-- The photos a news item shows, picked from its event's attachments, each
-- with the note of the consent of the people in it.
create table news_photos (
    news_id bigint not null references news_items (id) on delete cascade,
    attachment_id bigint not null references attachments (id) on delete cascade,
    consent_note text not null check (consent_note <> ''),
    position integer not null default 0,
    primary key (news_id, attachment_id)
);

-- What is kept in memory from these tables (the public news, the dashboard's
-- events) is stale once any of them changes (migration 5).
do $$
declare
    watched text;
begin
    foreach watched in array array[
        'projects', 'project_organizations', 'project_provinces', 'project_districts',
        'agreements', 'agreement_parties', 'agreement_provinces', 'events', 'event_partners',
        'event_participants', 'news_items', 'news_photos', 'attachments']
    loop
        execute format(
            'create trigger %I after insert or update or delete or truncate on %I
             for each statement execute function bump_data_generation()',
            watched || '_moves_data_generation', watched);
    end loop;
end $$;
