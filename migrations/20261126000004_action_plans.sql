-- Joint action plans that implement endorsed recommendations, their actions, and
-- the dated progress reports that follow each action until it is done.

create table action_plans (
    id bigint generated always as identity primary key,
    title_en text not null default '',
    title_km text not null default '',
    district_code text references districts (code),
    province_code text not null references provinces (code),
    study_id bigint references studies (id),
    meeting_id bigint references activities (id),
    period_start date not null,
    period_end date not null check (period_end >= period_start),
    version integer not null default 1,
    created_at timestamptz not null default now(),
    check (title_en <> '' or title_km <> ''),
    check (district_code is null or left(district_code, 2) = province_code)
);
create index action_plans_district_code_idx on action_plans (district_code);

create table actions (
    id bigint generated always as identity primary key,
    plan_id bigint not null references action_plans (id) on delete cascade,
    description_en text not null default '',
    description_km text not null default '',
    owner_organization_id bigint not null references organizations (id),
    lead text not null check (lead in ('sna', 'cso', 'joint')),
    starts_on date not null,
    due_on date not null check (due_on >= starts_on),
    budget_riel bigint not null default 0 check (budget_riel >= 0),
    budget_source text not null default '',
    indicator text not null default '',
    target text not null default '',
    version integer not null default 1,
    created_at timestamptz not null default now(),
    check (description_en <> '' or description_km <> '')
);
create index actions_plan_id_idx on actions (plan_id);
create index actions_owner_idx on actions (owner_organization_id);

-- The endorsed recommendations an action implements.
create table action_recommendations (
    action_id bigint not null references actions (id) on delete cascade,
    recommendation_id bigint not null references recommendations (id),
    primary key (action_id, recommendation_id)
);
create index action_recommendations_recommendation_idx on action_recommendations (recommendation_id);

-- Progress reports; an action's current state is its latest report.
create table action_updates (
    id bigint generated always as identity primary key,
    action_id bigint not null references actions (id) on delete cascade,
    reported_on date not null,
    status text not null check (status in ('not_started', 'in_progress', 'completed', 'blocked', 'cancelled')),
    progress integer not null check (progress between 0 and 100),
    note text not null default '',
    -- Donors do not read notes marked internal.
    internal boolean not null default false,
    reported_by bigint references users (id),
    reporter_organization_id bigint references organizations (id),
    confirmed_by bigint references users (id),
    confirmed_at timestamptz,
    created_at timestamptz not null default now(),
    check (status <> 'completed' or progress = 100)
);
create index action_updates_action_idx on action_updates (action_id, reported_on desc, id desc);

alter table attachments drop constraint attachments_parent_check;
alter table attachments add constraint attachments_parent_check
    check (parent in ('activity', 'case_study', 'action_update'));
