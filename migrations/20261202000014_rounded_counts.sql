-- Counts of people as outside readers see them (docs/disclosure.md): every
-- count of one to four people is rounded to 0 or 5 at random, the same way
-- every time, and every figure an outsider reads is a sum of such rounded
-- counts. Two views, two figures or two moments then differ by a sum of
-- rounded counts too, which never gives back a count of one to four.

-- Each activity's secret: with the name of a count (group and sex, "youth",
-- "persons_with_disabilities") it gives that count its random key. Counts are
-- written anew on every save, so the key cannot live on their rows: an edit
-- would draw a new key for an unchanged count, and saves repeated often
-- enough would average the rounding away.
alter table activities add column disclosure_secret uuid not null default gen_random_uuid();

-- A count's key, uniform in [0, 1): the first 32 bits of an MD5 of the secret
-- and the count's name.
create function count_key(secret uuid, name text) returns double precision
language sql immutable parallel safe as $$
    select ('x' || left(md5(secret::text || ':' || name), 8))::bit(32)::bigint / 4294967296.0
$$;

-- A count as outsiders see it: 1 to 4 becomes 5 with probability count/5 (so
-- that sums stay right on average), 0 otherwise; every other count is itself.
create function rounded_count(count integer, key double precision) returns integer
language sql immutable parallel safe as $$
    select case when count between 1 and 4 then case when key < count / 5.0 then 5 else 0 end
                else count end
$$;

alter table activities
    add column rounded_female_by_group integer[] not null default '{0,0,0,0,0,0}',
    add column rounded_male_by_group integer[] not null default '{0,0,0,0,0,0}',
    add column rounded_participants integer not null default 0,
    add column rounded_participants_female integer not null default 0,
    add column rounded_youth integer generated always as
        (rounded_count(youth, count_key(disclosure_secret, 'youth'))) stored,
    add column rounded_persons_with_disabilities integer generated always as
        (rounded_count(persons_with_disabilities, count_key(disclosure_secret, 'persons_with_disabilities'))) stored;

-- Each activity's counts per group, exact and rounded. Replaces migration 0010's.
create function activity_group_counts(activities bigint[])
returns table (activity_id bigint, female integer[], male integer[],
               rounded_female integer[], rounded_male integer[])
language sql stable as $$
    select c.id,
           array_agg(coalesce(s.female, 0) order by g.i),
           array_agg(coalesce(s.male, 0) order by g.i),
           array_agg(coalesce(s.rounded_female, 0) order by g.i),
           array_agg(coalesce(s.rounded_male, 0) order by g.i)
    from unnest(activities) c(id)
    cross join unnest(participant_groups()) with ordinality g(name, i)
    left join (
        select p.activity_id, p.participant_group,
               sum(p.count) filter (where p.sex = 'female') as female,
               sum(p.count) filter (where p.sex = 'male') as male,
               sum(rounded_count(p.count, count_key(a.disclosure_secret, p.participant_group || ' ' || p.sex)))
                   filter (where p.sex = 'female') as rounded_female,
               sum(rounded_count(p.count, count_key(a.disclosure_secret, p.participant_group || ' ' || p.sex)))
                   filter (where p.sex = 'male') as rounded_male
        from participant_counts p join activities a on a.id = p.activity_id
        where p.activity_id = any(activities)
        group by 1, 2
    ) s on s.activity_id = c.id and s.participant_group = g.name
    group by c.id
$$;

create function refresh_participants(activities bigint[]) returns void language sql as $$
    update activities a
    set female_by_group = t.female, male_by_group = t.male,
        participants_female = (select sum(n) from unnest(t.female) n),
        participants = (select sum(n) from unnest(t.female) n) + (select sum(n) from unnest(t.male) n),
        rounded_female_by_group = t.rounded_female, rounded_male_by_group = t.rounded_male,
        rounded_participants_female = (select sum(n) from unnest(t.rounded_female) n),
        rounded_participants = (select sum(n) from unnest(t.rounded_female) n)
                               + (select sum(n) from unnest(t.rounded_male) n)
    from activity_group_counts(activities) t
    where a.id = t.activity_id;
$$;

create or replace function refresh_activity_participants() returns trigger language plpgsql as $$
begin
    perform refresh_participants(array(select distinct activity_id from changed));
    return null;
end $$;

select refresh_participants(array(select distinct activity_id from participant_counts));

-- The figures a study published with its public pages: the respondents of
-- all its focus groups and interviews and the women among them, exact, as the
-- secretariat's report gives them, frozen when the pages are first turned on
-- (`publish_headline`), so that no later write moves them. Null when they
-- could not be published exactly (`headline_is_safe`).
alter table studies
    add column headline_respondents integer,
    add column headline_respondents_female integer,
    add column headline_at timestamptz;

-- Could these exact totals give back a count of one to four? An outsider
-- knows every count of five or more exactly; subtracting them from an exact
-- total leaves the sum of the small counts. Each small count stays unknown
-- only while their sum could be split in more than one way: two at least, and
-- not all at 1 or all at 4. Checked for women and for men apart.
create function headline_is_safe(study bigint) returns boolean language sql stable as $$
    select coalesce(bool_and(t.small = 0 or (t.small >= 2 and t.small < t.total and t.total < 4 * t.small)), true)
    from (
        select p.sex, count(*) as small, sum(p.count) as total
        from activities a
        join participant_counts p on p.activity_id = a.id
        where a.study_id = study and a.kind in ('fgd', 'interview') and p.count between 1 and 4
        group by p.sex
    ) t
$$;

create function publish_headline(study bigint) returns void language sql as $$
    update studies s
    set headline_at = now(),
        headline_respondents = case when headline_is_safe(study) then t.respondents end,
        headline_respondents_female = case when headline_is_safe(study) then t.female end
    from (select coalesce(sum(a.participants), 0)::integer as respondents,
                 coalesce(sum(a.participants_female), 0)::integer as female
          from activities a
          where a.study_id = study and a.kind in ('fgd', 'interview')) t
    where s.id = study and s.headline_at is null
$$;

-- Studies already public publish theirs now.
select publish_headline(id) from studies where public_since is not null;
