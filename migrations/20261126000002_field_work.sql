-- Field work and case studies: studies, themes, activities with participant
-- counts and anonymized findings, case studies with their mechanisms, revisions
-- and attachments. No table has a column for a respondent's name or contact.

create extension if not exists pg_trgm;

create table themes (
    id bigint generated always as identity primary key,
    name_en text not null check (name_en <> ''),
    name_km text not null default '',
    position integer not null default 0,
    active boolean not null default true,
    version integer not null default 1
);
create unique index themes_name_en_key on themes (lower(name_en));

insert into themes (name_en, name_km, position) values
    ('Access to information', 'ការទទួលបានព័ត៌មាន', 1),
    ('Participation in planning', 'ការចូលរួមក្នុងការធ្វើផែនការ', 2),
    ('Budget transparency', 'តម្លាភាពថវិកា', 3),
    ('Accountability and complaints', 'គណនេយ្យភាព និងបណ្ដឹងតវ៉ា', 4),
    ('Gender and inclusion', 'យេនឌ័រ និងបរិយាបន្ន', 5),
    ('CBO/CSO capacity', 'សមត្ថភាពអង្គការសហគមន៍ និងសង្គមស៊ីវិល', 6),
    ('Awareness of D&D', 'ការយល់ដឹងអំពីកំណែទម្រង់វិមជ្ឈការ និងវិសហមជ្ឈការ', 7);

-- A round of case-study work in one province.
create table studies (
    id bigint generated always as identity primary key,
    title_en text not null check (title_en <> ''),
    title_km text not null default '',
    province_code text not null references provinces (code),
    period_start date not null,
    period_end date not null check (period_end >= period_start),
    version integer not null default 1,
    created_at timestamptz not null default now()
);

create table study_funders (
    study_id bigint not null references studies (id) on delete cascade,
    organization_id bigint not null references organizations (id),
    primary key (study_id, organization_id)
);

create table case_studies (
    id bigint generated always as identity primary key,
    study_id bigint not null references studies (id),
    district_code text not null references districts (code),
    author_organization_id bigint not null references organizations (id),
    title_en text not null default '',
    title_km text not null default '',
    status text not null default 'draft' check (status in ('draft', 'in_review', 'published', 'archived')),
    summary text not null default '',
    context text not null default '',
    findings text not null default '',
    good_practices text not null default '',
    challenges text not null default '',
    conclusion text not null default '',
    review_comment text not null default '',
    version integer not null default 1,
    published_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (title_en <> '' or title_km <> ''),
    unique (study_id, district_code)
);
create index case_studies_district_code_idx on case_studies (district_code);
create index case_studies_title_trgm_idx on case_studies using gin ((title_en || ' ' || title_km) gin_trgm_ops);

-- The civic engagement mechanisms a case study assessed (DESIGN.md §2).
create table case_study_mechanisms (
    case_study_id bigint not null references case_studies (id) on delete cascade,
    mechanism text not null check (mechanism in (
        'council_public_forum', 'information_boards', 'planning_budgeting_consultation',
        'social_accountability', 'complaint_handling', 'women_children_committee', 'open_council_meetings')),
    exists_here boolean not null default false,
    functions boolean not null default false,
    citizens_aware boolean not null default false,
    comment text not null default '',
    primary key (case_study_id, mechanism)
);

create table activities (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('fgd', 'interview', 'consultation', 'joint_consultation',
        'technical_meeting', 'provincial_workshop', 'national_workshop', 'training', 'other')),
    held_on date not null check (held_on >= date '2000-01-01'),
    district_code text not null references districts (code),
    commune_code text references communes (code),
    place text not null default '',
    facilitating_organization_id bigint not null references organizations (id),
    study_id bigint references studies (id),
    case_study_id bigint references case_studies (id) on delete set null,
    summary text not null default '',
    youth integer not null default 0 check (youth between 0 and 100000),
    persons_with_disabilities integer not null default 0 check (persons_with_disabilities between 0 and 100000),
    version integer not null default 1,
    created_by bigint references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (commune_code is null or left(commune_code, 4) = district_code)
);
create index activities_district_code_idx on activities (district_code, held_on desc);
create index activities_study_id_idx on activities (study_id);
create index activities_case_study_id_idx on activities (case_study_id);

-- Participants by group and sex; totals are always derived from these rows.
create table participant_counts (
    activity_id bigint not null references activities (id) on delete cascade,
    participant_group text not null check (participant_group in
        ('citizen', 'cbo', 'cso', 'sna_official', 'council_member', 'other')),
    sex text not null check (sex in ('female', 'male')),
    count integer not null check (count between 0 and 100000),
    primary key (activity_id, participant_group, sex)
);

-- What was heard, anonymized: a quote carries a descriptor ("woman, CBO member,
-- Bavel"), never a name.
create table findings (
    id bigint generated always as identity primary key,
    activity_id bigint not null references activities (id) on delete cascade,
    text_en text not null default '',
    text_km text not null default '',
    quote text not null default '',
    quote_descriptor text not null default '',
    -- Donors read only findings marked public.
    public boolean not null default false,
    created_by bigint references users (id),
    created_at timestamptz not null default now(),
    check (text_en <> '' or text_km <> '')
);
create index findings_activity_id_idx on findings (activity_id);
create index findings_text_trgm_idx on findings using gin ((text_en || ' ' || text_km || ' ' || quote) gin_trgm_ops);

create table finding_themes (
    finding_id bigint not null references findings (id) on delete cascade,
    theme_id bigint not null references themes (id),
    primary key (finding_id, theme_id)
);

-- Every save of a case study or an activity: who, when, what changed, and the
-- record as it was saved.
create table revisions (
    id bigint generated always as identity primary key,
    entity text not null check (entity in ('case_study', 'activity')),
    entity_id bigint not null,
    version integer not null,
    editor_id bigint references users (id),
    at timestamptz not null default now(),
    changed text[] not null default '{}',
    snapshot text not null,
    unique (entity, entity_id, version)
);

create table attachments (
    id bigint generated always as identity primary key,
    parent text not null check (parent in ('activity', 'case_study')),
    parent_id bigint not null,
    stored_name text not null unique,
    content_type text not null check (content_type in ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    size_bytes bigint not null check (size_bytes > 0),
    caption text not null default '',
    -- Photos can show faces: donors see only attachments marked public.
    public boolean not null default false,
    uploaded_by bigint references users (id),
    uploaded_at timestamptz not null default now()
);
create index attachments_parent_idx on attachments (parent, parent_id);
