-- Joint recommendation lists, their endorsement by district officials, and the
-- priorities provincial and national workshops pick from endorsed lists.

-- One district's joint list for one study. Reopening an endorsed list starts a
-- new row (the next list_version); the endorsed one stays as it was.
create table recommendation_lists (
    id bigint generated always as identity primary key,
    district_code text not null references districts (code),
    study_id bigint not null references studies (id),
    consultation_id bigint references activities (id),
    list_version integer not null default 1,
    previous_id bigint references recommendation_lists (id),
    status text not null default 'draft'
        check (status in ('draft', 'submitted', 'returned', 'endorsed', 'superseded')),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (district_code, study_id, list_version)
);
create index recommendation_lists_status_idx on recommendation_lists (status, district_code);

create table recommendations (
    id bigint generated always as identity primary key,
    list_id bigint not null references recommendation_lists (id) on delete cascade,
    position integer not null,
    text_en text not null default '',
    text_km text not null default '',
    addressee text not null check (addressee in ('sna', 'cso', 'joint', 'province', 'national')),
    theme_id bigint references themes (id),
    check (text_en <> '' or text_km <> '')
);
create index recommendations_list_id_idx on recommendations (list_id, position);

-- The findings a recommendation rests on.
create table recommendation_evidence (
    recommendation_id bigint not null references recommendations (id) on delete cascade,
    finding_id bigint not null references findings (id),
    primary key (recommendation_id, finding_id)
);
create index recommendation_evidence_finding_id_idx on recommendation_evidence (finding_id);

-- Every transition of a list. An endorsement also keeps the exact content
-- endorsed and its SHA-256, and who endorsed it in what position.
create table endorsements (
    id bigint generated always as identity primary key,
    list_id bigint not null references recommendation_lists (id),
    transition text not null check (transition in ('submitted', 'endorsed', 'returned', 'reopened')),
    actor_id bigint references users (id),
    actor_name text not null,
    actor_position text not null default '',
    at timestamptz not null default now(),
    comment text not null default '',
    snapshot text,
    fingerprint text,
    check ((transition = 'endorsed') = (snapshot is not null and fingerprint is not null))
);
create index endorsements_list_id_idx on endorsements (list_id, at);
-- A list is endorsed once; a second endorsement at the same moment fails here.
create unique index endorsements_one_per_list on endorsements (list_id) where transition = 'endorsed';

create table priorities (
    recommendation_id bigint not null references recommendations (id),
    level text not null check (level in ('provincial', 'national')),
    rank integer not null check (rank between 1 and 1000),
    workshop_id bigint references activities (id),
    set_by bigint references users (id),
    set_at timestamptz not null default now(),
    primary key (recommendation_id, level)
);
