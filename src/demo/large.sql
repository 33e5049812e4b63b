-- The scales the budgets are measured at (docs/design.md), written with set-based inserts so they load
-- in seconds. `large` (`seed.scale` 1): at least 200 districts, 2,000 case studies, 50,000 activities,
-- 300,000 participant counts, 100,000 findings, 200,000 recommendations,
-- 100,000 actions, 300,000 progress reports and 500 users. `xlarge` (`seed.scale` 10): ten coalitions
-- each running a study a year in every district, ten times as much of everything. Values vary with a
-- fixed seed, so two runs give the same figures. `seed.password_hash` and `seed.scale` are set by
-- the caller. Everything it creates is named "Seed …".

select setseed(0.26);
create temporary table seed_scale on commit drop as
select current_setting('seed.scale')::int as n;

-- The secondary indexes of the big tables it fills are built once, after
-- the rows: kept up row by row, they cost more than the rows themselves.
create temporary table seed_indexes on commit drop as
select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
from pg_index i
where i.indrelid = any(array['activities', 'participant_counts', 'findings', 'finding_themes',
                             'recommendations', 'priorities', 'actions', 'action_recommendations',
                             'action_updates', 'case_studies']::regclass[])
  and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid);
do $$
declare
    seeded_index record;
begin
    for seeded_index in select * from seed_indexes loop
        execute format('drop index %s', seeded_index.name);
    end loop;
end $$;

-- Loaded without the per-row work that keeps data whole as people enter it:
-- no foreign key is checked row by row (the references are right by
-- construction) and no roll-up trigger fires; the roll-ups are computed once
-- at the end, by the functions the triggers call. (A superuser's setting:
-- the seed runs as the database's owner.)
set local session_replication_role = replica;

-- Districts: the gazetteer's, topped up with sample ones to 200 (210, all
-- of Cambodia's, at a larger scale).
create temporary table seed_district_count on commit drop as
select case when n = 1 then 200 else 210 end as n from seed_scale;
insert into districts (code, province_code, type, name_en, name_km)
select p.code || (60 + n)::text, p.code, 'district', 'Seed district ' || p.code || (60 + n)::text, ''
from provinces p
cross join generate_series(0, 9) n
where (select count(*) from districts) < (select n from seed_district_count)
  and n < ceil(((select n from seed_district_count) - (select count(*) from districts)) / 25.0)
on conflict do nothing;

create temporary table seed_districts on commit drop as
select row_number() over (order by code) as ord, code from districts;

-- Organizations: 20 member NGOs per coalition covering ten districts each
-- (and the rest round-robin), one administration per district that has none,
-- 5 donors.
insert into organizations (name_en, acronym, kind)
select 'Seed NGO ' || n, 'SN' || n, 'member_ngo' from generate_series(1, 20 * (select n from seed_scale)) n;
insert into organizations (name_en, acronym, kind)
select 'Seed donor ' || n, 'SD' || n, 'donor' from generate_series(1, 5) n;
insert into organizations (name_en, kind, district_code)
select 'Seed administration of ' || d.code, 'sna', d.code
from seed_districts d
where not exists (select 1 from organizations o where o.district_code = d.code);

create temporary table seed_ngos on commit drop as
select row_number() over (order by id) - 1 as ord, id from organizations where name_en like 'Seed NGO %';
insert into organization_districts (organization_id, district_code)
select g.id, d.code from seed_districts d join seed_ngos g on g.ord % 20 = d.ord % 20
on conflict do nothing;

insert into organizations (name_en, acronym, kind)
select 'Seed secretariat', 'SSEC', 'secretariat';

-- 500 users per coalition: officials, NGO staff, secretariat and donors.
insert into users (email, display_name, role, organization_id, password_hash)
select 'seed-sna-' || o.district_code || '@seed.example', 'Seed official ' || o.district_code, 'sna', o.id,
       current_setting('seed.password_hash')
from organizations o where o.kind = 'sna' and o.name_en like 'Seed %'
order by o.district_code limit (select n from seed_district_count);
insert into users (email, display_name, role, organization_id, password_hash)
select 'seed-ngo-' || n || '@seed.example', 'Seed NGO staff ' || n, 'ngo', g.id, current_setting('seed.password_hash')
from generate_series(1, 500 * (select n from seed_scale) - (select count(*) from users where email like 'seed-%') - 40) n
join seed_ngos g on g.ord = n % (20 * (select n from seed_scale));
insert into users (email, display_name, role, organization_id, password_hash)
select 'seed-secretariat-' || n || '@seed.example', 'Seed secretariat ' || n,
       case when n = 1 then 'admin' else 'secretariat' end,
       (select id from organizations where name_en = 'Seed secretariat'), current_setting('seed.password_hash')
from generate_series(1, 30) n;
insert into users (email, display_name, role, organization_id, password_hash)
select 'seed-donor-' || n || '@seed.example', 'Seed donor ' || n, 'donor',
       (select id from organizations where name_en = 'Seed donor ' || (1 + n % 5)), current_setting('seed.password_hash')
from generate_series(1, 10) n;

-- Ten studies per coalition, one a year.
insert into studies (title_en, title_km, province_code, period_start, period_end)
select 'Seed study ' || year || case when scale.n > 1 then ' (' || coalition || ')' else '' end,
       'ការសិក្សា ' || year, '02', make_date(year, 1, 1), make_date(year, 12, 31)
from seed_scale scale
cross join generate_series(2017, 2026) year
cross join generate_series(1, scale.n) coalition
order by year, coalition;
create temporary table seed_studies on commit drop as
select row_number() over (order by id) as ord, id, period_start from studies where title_en like 'Seed study %';

-- 2,000 case studies per coalition: one per study and district.
insert into case_studies (study_id, district_code, author_organization_id, title_en, status,
                          summary, published_at)
select s.id, d.code, g.id, 'Seed case study ' || d.code || ' ' || s.ord,
       case when random() < 0.7 then 'published' when random() < 0.5 then 'in_review' else 'draft' end,
       'Summary of the civic engagement in district ' || d.code || '.',
       s.period_start + 200
from seed_studies s
cross join (select * from seed_districts where ord <= (select n from seed_district_count)) d
join seed_ngos g on g.ord = d.ord % 20 + 20 * (s.ord % (select n from seed_scale));
update case_studies set published_at = null where status <> 'published' and title_en like 'Seed %';
-- Statistics after each bulk insert: the planner would otherwise take the
-- tables just filled for empty, and join them row by row (minutes instead of
-- seconds).
analyze case_studies;

-- Room on each page for the roll-up's new version of each row, which then
-- needs no new index entries (until the roll-up at the end).
alter table activities set (fillfactor = 45);
-- 50,000 activities: 25 per case study, spread over its study's year.
insert into activities (kind, held_on, district_code, facilitating_organization_id, study_id,
                        case_study_id, place, summary, youth, persons_with_disabilities)
select (array['fgd', 'fgd', 'fgd', 'fgd', 'interview', 'interview', 'interview', 'consultation',
              'joint_consultation', 'training'])[1 + n % 10],
       s.period_start + (random() * 360)::int, c.district_code, c.author_organization_id,
       c.study_id, c.id, 'Seed place', 'Seed summary', (random() * 5)::int, (random() * 2)::int
from case_studies c
join seed_studies s on s.id = c.study_id
cross join generate_series(1, 25) n;
analyze activities;

-- 300,000 participant counts: six groups and sexes per activity.
insert into participant_counts (activity_id, participant_group, sex, count)
select a.id, g.participant_group, x.sex, (random() * 14)::int
from activities a
join studies s on s.id = a.study_id and s.title_en like 'Seed study %'
cross join (values ('citizen'), ('cbo'), ('cso')) g(participant_group)
cross join (values ('female'), ('male')) x(sex);
analyze participant_counts;

-- 100,000 findings, two per activity, half of them public, each with a theme.
insert into findings (activity_id, text_en, quote, quote_descriptor, public)
select a.id, 'Seed finding ' || n || ' of activity ' || a.id, 'Seed quote', 'woman, citizen', random() < 0.5
from activities a
join studies s on s.id = a.study_id and s.title_en like 'Seed study %'
cross join generate_series(1, 2) n;
analyze findings;
-- The themes in order, read once rather than once a row.
create temporary table seed_themes on commit drop as
select array_agg(id order by id) as ids from themes;
insert into finding_themes (finding_id, theme_id)
select f.id, (select ids from seed_themes)[1 + f.id % 7]
from findings f where f.text_en like 'Seed finding %';

-- 2,000 recommendation lists of 100 recommendations: 200,000. Most endorsed.
insert into recommendation_lists (district_code, study_id, status)
select c.district_code, c.study_id,
       case when random() < 0.6 then 'endorsed' when random() < 0.5 then 'submitted' else 'draft' end
from case_studies c where c.title_en like 'Seed case study %';
analyze recommendation_lists;
insert into recommendations (list_id, position, text_en, addressee, theme_id)
select l.id, n, 'Seed recommendation ' || n || ' for ' || l.district_code,
       (array['sna', 'cso', 'joint', 'province', 'national'])[1 + n % 5],
       (select ids from seed_themes)[1 + n % 7]
from recommendation_lists l
join studies s on s.id = l.study_id and s.title_en like 'Seed study %'
cross join generate_series(1, 100) n;
analyze recommendations;
insert into endorsements (list_id, transition, actor_name, actor_position, snapshot, fingerprint)
select l.id, 'endorsed', 'Seed official', 'Governor', '{}', md5(l.id::text) || md5(l.district_code)
from recommendation_lists l
join studies s on s.id = l.study_id and s.title_en like 'Seed study %'
where l.status = 'endorsed';
insert into priorities (recommendation_id, level, rank)
select r.id, 'provincial', r.position
from recommendations r join recommendation_lists l on l.id = r.list_id
join studies s on s.id = l.study_id and s.title_en like 'Seed study %'
where l.status = 'endorsed' and r.position <= 5;

-- Action plans for 1,000 endorsed lists per coalition, 100 actions each: 100,000 actions,
-- each implementing one recommendation of its list, with three progress reports.
create temporary table seed_plans on commit drop as
select l.id as list_id, l.district_code, l.study_id, s.period_start
from recommendation_lists l
join studies s on s.id = l.study_id and s.title_en like 'Seed study %'
where l.status = 'endorsed'
order by l.id limit 1000 * (select n from seed_scale);
analyze seed_plans;
insert into action_plans (title_en, district_code, province_code, study_id, period_start, period_end)
select 'Seed plan for list ' || list_id, district_code, left(district_code, 2), study_id,
       period_start + 365, period_start + 1095
from seed_plans;
insert into actions (plan_id, description_en, owner_organization_id, lead, starts_on, due_on,
                     budget_riel, indicator, target)
select p.id, 'Seed action ' || n || ' of plan ' || p.id,
       (select o.id from organizations o where o.district_code = p.district_code),
       (array['sna', 'cso', 'joint'])[1 + n % 3],
       p.period_start + (n * 3), p.period_start + (n * 3) + 90 + (random() * 400)::int,
       (random() * 10000000)::bigint, 'Seed indicator', 'Seed target'
from action_plans p
cross join generate_series(1, 100) n
where p.title_en like 'Seed plan %';
analyze actions;
insert into action_recommendations (action_id, recommendation_id)
select a.id, r.id
from (select a.id, a.plan_id, row_number() over (partition by a.plan_id order by a.id) as ord
      from actions a
      join action_plans p on p.id = a.plan_id and p.title_en like 'Seed plan %') a
join action_plans p on p.id = a.plan_id
join seed_plans sp on 'Seed plan for list ' || sp.list_id = p.title_en
join recommendations r on r.list_id = sp.list_id and r.position = a.ord;
insert into action_updates (action_id, reported_on, status, progress, note, internal,
                            reporter_organization_id)
select a.id, least(a.starts_on + n * 30, current_date),
       case when n < 3 then 'in_progress'
            else (array['in_progress', 'completed', 'blocked', 'cancelled', 'in_progress'])[1 + a.id % 5] end,
       case when n < 3 then n * 25
            when a.id % 5 = 1 then 100 else 75 end,
       'Seed progress note ' || n, n = 2, a.owner_organization_id
from actions a
join action_plans p on p.id = a.plan_id and p.title_en like 'Seed plan %'
cross join generate_series(1, 3) n;

-- The indexes again, before the roll-ups that read through them.
set local maintenance_work_mem = '512MB';
do $$
declare
    seeded_index record;
begin
    for seeded_index in select * from seed_indexes loop
        execute seeded_index.definition;
    end loop;
end $$;

set local session_replication_role = origin;
-- Its roll-ups; each update also moves the data generation on, so running
-- instances drop what they kept.
select refresh_participants(array(
    select a.id from activities a join seed_studies s on s.id = a.study_id));
alter table activities reset (fillfactor);
select refresh_lists(array(
    select l.id from recommendation_lists l join seed_studies s on s.id = l.study_id));
-- The plans' roll-ups follow from the actions' (their trigger).
select refresh_actions(array(
    select a.id from actions a join action_plans p on p.id = a.plan_id
    where p.title_en like 'Seed plan %'));
