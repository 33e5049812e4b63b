-- Rules that queries share, each written once.

-- A case study is published once published, and stays so when archived.
-- Pages, exports and the visible_* functions all ask this.
create function case_study_published(status text) returns boolean
language sql immutable parallel safe as $$
    select status in ('published', 'archived')
$$;

-- An open action waits for a report when it is overdue, or when nobody has
-- reported on it for 90 days (counted from its start until a first report).
-- The home worklist and the weekly reminder ask this.
create function action_awaits_report(
    status text, due_on date, reported_on date, starts_on date, today date
) returns boolean language sql immutable parallel safe as $$
    select status not in ('completed', 'cancelled')
       and (due_on < today or coalesce(reported_on, starts_on) < today - 90)
$$;

create or replace function visible_activities(
    study bigint, province text, district text, since date, until date,
    everywhere boolean, own_districts text[]
) returns setof activities language sql stable as $$
    select a.*
    from activities a
    left join case_studies c on c.id = a.case_study_id
    where (study is null or a.study_id = study)
      and (province = '' or left(a.district_code, 2) = province)
      and (district = '' or a.district_code = district)
      and (since is null or a.held_on >= since)
      and (until is null or a.held_on <= until)
      and (everywhere or a.district_code = any(own_districts)
           or case_study_published(c.status))
$$;

create or replace function visible_case_studies(
    study bigint, province text, district text, since date, until date,
    everywhere boolean, own_districts text[]
) returns setof case_studies language sql stable as $$
    select c.*
    from case_studies c
    where (study is null or c.study_id = study)
      and (province = '' or left(c.district_code, 2) = province)
      and (district = '' or c.district_code = district)
      and (since is null or coalesce(c.published_at, c.created_at)::date >= since)
      and (until is null or coalesce(c.published_at, c.created_at)::date <= until)
      and (everywhere or c.district_code = any(own_districts)
           or case_study_published(c.status))
$$;
