//! The dashboard's figures: three aggregate queries over what the reader may see
//! (the `visible_*` and `current_actions` functions of the database), cached
//! until the data changes.

use std::sync::{Arc, OnceLock};

use sqlx::PgPool;
use time::Date;

use super::people::People;
use crate::auth::reader::Reader;
use crate::db::cache::GenerationCache;
use crate::disclosure::Count;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::filters::Selection;

/// Every figure of one district, or of all of them together (`total`).
#[derive(Debug, Clone)]
pub struct DistrictFigures {
    pub total: bool,
    pub code: Option<String>,
    pub name_en: Option<String>,
    pub name_km: Option<String>,
    /// The district's outline on the map; for the total, none.
    pub path: Option<String>,
    /// The outline's bounds; for the total, the bounds of all outlines.
    pub min_x: Option<f32>,
    pub min_y: Option<f32>,
    pub max_x: Option<f32>,
    pub max_y: Option<f32>,
    /// Districts with field work or a published case study: 1 or 0 for a district.
    pub covered: i64,
    /// Lists a district owes in the selection, read or not: one per
    /// district and study that has one.
    pub districts_listed: i64,
    pub activities: i64,
    /// Counts of people, each also as outsiders see it (`rounded_`, `disclosure`).
    pub female: i64,
    pub male: i64,
    /// Participants of focus groups and interviews: the citizens heard.
    pub respondents: i64,
    pub respondents_female: i64,
    pub youth: i64,
    pub persons_with_disabilities: i64,
    pub rounded_female: i64,
    pub rounded_male: i64,
    pub rounded_respondents: i64,
    pub rounded_respondents_female: i64,
    pub case_studies_published: i64,
    pub lists: i64,
    pub lists_endorsed: i64,
    pub recommendations: i64,
    pub recommendations_endorsed: i64,
    pub recommendations_prioritized: i64,
    pub actions: i64,
    pub not_started: i64,
    pub in_progress: i64,
    pub completed: i64,
    pub blocked: i64,
    pub cancelled: i64,
    pub overdue: i64,
    /// Progress of the actions that are not cancelled, added up, and their number.
    pub progress_sum: i64,
    pub progress_count: i64,
}

impl DistrictFigures {
    /// The district's name in the reader's language (empty for the total).
    pub fn name<'a>(&'a self, ctx: &Ctx) -> &'a str {
        ctx.pick(
            self.name_en.as_deref().unwrap_or_default(),
            self.name_km.as_deref().unwrap_or_default(),
        )
    }

    pub fn female(&self) -> Count {
        Count::new(self.female, self.rounded_female)
    }

    pub fn male(&self) -> Count {
        Count::new(self.male, self.rounded_male)
    }

    pub fn respondents_female(&self) -> Count {
        Count::new(self.respondents_female, self.rounded_respondents_female)
    }

    pub fn respondents_male(&self) -> Count {
        Count::new(
            self.respondents - self.respondents_female,
            self.rounded_respondents - self.rounded_respondents_female,
        )
    }

    /// The plain average progress of the actions that count, or `None`.
    pub fn average_progress(&self) -> Option<i64> {
        (self.progress_count > 0)
            .then(|| (self.progress_sum + self.progress_count / 2) / self.progress_count)
    }
}

/// A count along one dimension: activities by kind or month, participants by
/// group (`first` female, `second` male, and both as outsiders see them),
/// recommendations by theme (`first` listed, `second` endorsed).
#[derive(Debug, Clone)]
pub struct Breakdown {
    pub dimension: String,
    pub key: String,
    pub name_en: String,
    pub name_km: String,
    pub first: i64,
    pub second: i64,
    pub rounded_first: i64,
    pub rounded_second: i64,
}

/// Events held at one level (`events::LEVELS`), their participants exact
/// and as sums of rounded counts (`Count`).
#[derive(Debug, Clone)]
pub struct EventLevel {
    pub level: String,
    pub events: i64,
    pub female: i64,
    pub male: i64,
    pub rounded_female: i64,
    pub rounded_male: i64,
}

impl EventLevel {
    pub fn female(&self) -> Count {
        Count::new(self.female, self.rounded_female)
    }

    pub fn male(&self) -> Count {
        Count::new(self.male, self.rounded_male)
    }
}

/// What the filter form offers: studies, provinces, and the chosen province's districts.
#[derive(Debug, Clone)]
pub struct Choice {
    pub kind: String,
    pub code: String,
    pub name_en: String,
    pub name_km: String,
}

#[derive(Debug)]
pub struct Figures {
    pub total: DistrictFigures,
    /// Every district of the selection, with or without figures, by name.
    pub districts: Vec<DistrictFigures>,
    pub breakdowns: Vec<Breakdown>,
    /// Events by level; none with a study chosen, as events belong to no study.
    pub events: Vec<EventLevel>,
    pub choices: Vec<Choice>,
    /// When these figures were counted: they stand until the data changes.
    pub as_of: time::OffsetDateTime,
    /// Their charts and map, as drawn (`graphics`).
    pub graphics: super::graphics::Kept,
    /// The counts of people as shown to readers who see small counts exactly
    /// and to those who do not, each worked out once for these figures.
    people: [OnceLock<Arc<People>>; 2],
}

impl Figures {
    /// The counts of people as a reader who blurs small counts (or not) sees them.
    pub fn people(&self, blurred: bool) -> Arc<People> {
        Arc::clone(
            self.people[usize::from(blurred)].get_or_init(|| Arc::new(People::of(self, blurred))),
        )
    }

    pub fn breakdown<'a>(&'a self, dimension: &'a str) -> impl Iterator<Item = &'a Breakdown> {
        self.breakdowns
            .iter()
            .filter(move |row| row.dimension == dimension)
    }
}

async fn compute(
    pool: &PgPool,
    selection: &Selection,
    reader: &Reader,
    today: Date,
) -> Result<Figures, sqlx::Error> {
    let Selection {
        study,
        project,
        province,
        district,
        from,
        to,
    } = selection;
    // The three statements are independent: on their own connections they
    // run side by side, so a first view waits for the slowest, not the sum.
    let rows = sqlx::query_as!(
        DistrictFigures,
        r#"with keys as (
               select d.code, d.name_en, d.name_km from districts d
               where ($2 = '' or d.province_code = $2) and ($3 = '' or d.code = $3)
               -- Province-level action plans belong to no district.
               union all select '', '', ''
           ),
           -- Participants are each activity's kept totals (migrations 0009, 0010).
           field as (
               select a.district_code, count(*) as activities, sum(a.youth) as youth,
                      sum(a.persons_with_disabilities) as disabled,
                      sum(a.participants_female) as female,
                      sum(a.participants - a.participants_female) as male,
                      sum(a.participants) filter (where a.kind in ('fgd', 'interview')) as respondents,
                      sum(a.participants_female) filter (where a.kind in ('fgd', 'interview'))
                          as respondents_female,
                      sum(a.rounded_participants_female) as rounded_female,
                      sum(a.rounded_participants - a.rounded_participants_female) as rounded_male,
                      sum(a.rounded_participants) filter (where a.kind in ('fgd', 'interview'))
                          as rounded_respondents,
                      sum(a.rounded_participants_female) filter (where a.kind in ('fgd', 'interview'))
                          as rounded_respondents_female
               from visible_activities($1, $2, $3, $4, $5, $6, $7) a
               where ($9::bigint is null or a.study_id in (select s.id from studies s where s.project_id = $9))
               group by a.district_code
           ),
           published_studies as (
               select c.district_code, count(*) as published
               from visible_case_studies($1, $2, $3, $4, $5, $6, $7) c
               where case_study_published(c.status) and ($9::bigint is null or c.study_id in (select s.id from studies s where s.project_id = $9))
               group by c.district_code
           ),
           lists as (
               select l.district_code, count(*) as lists,
                      count(*) filter (where l.status = 'endorsed') as endorsed,
                      sum(l.recommendation_count) as recommendations,
                      sum(l.recommendation_count) filter (where l.status = 'endorsed')
                          as recommendations_endorsed,
                      sum(l.prioritized_count) as prioritized
               from visible_recommendation_lists($1, $2, $3, $4, $5, $6, $7) l
               where ($9::bigint is null or l.study_id in (select s.id from studies s where s.project_id = $9))
               group by l.district_code
           ),
           -- Districts with a list in the selection, whoever may read it: the
           -- endorsement rate's denominator, for every reader the same.
           -- A district listed in two cycles counts twice: the rate of
           -- endorsement is per list a district owes, never above 100%.
           listed as (
               select l.district_code, count(distinct l.study_id) as cycles
               from visible_recommendation_lists($1, $2, $3, $4, $5, true, '{}') l
               where ($9::bigint is null or l.study_id in (select s.id from studies s where s.project_id = $9))
               group by l.district_code
           ),
           -- Without dates, each plan's kept roll-up; with dates, the actions
           -- whose period overlaps them.
           work as (
               select coalesce(p.district_code, '') as district_code, sum(p.action_count) as actions,
                      sum(p.status_counts[1]) as not_started, sum(p.status_counts[2]) as in_progress,
                      sum(p.status_counts[3]) as completed, sum(p.status_counts[4]) as blocked,
                      sum(p.status_counts[5]) as cancelled,
                      sum(width_bucket($8::date - 1, p.open_due_dates)) as overdue,
                      sum(p.progress_sum) as progress_sum,
                      sum(p.action_count - p.status_counts[5]) as progress_count
               from action_plans p
               where $4::date is null and $5::date is null
                 and ($1::bigint is null or p.study_id = $1)
                 and ($2 = '' or p.province_code = $2)
                 and ($3 = '' or p.district_code = $3)
                 and ($9::bigint is null or p.study_id in (select s.id from studies s where s.project_id = $9))
               group by 1
               union all
               select coalesce(a.district_code, ''), count(*),
                      count(*) filter (where a.status = 'not_started'),
                      count(*) filter (where a.status = 'in_progress'),
                      count(*) filter (where a.status = 'completed'),
                      count(*) filter (where a.status = 'blocked'),
                      count(*) filter (where a.status = 'cancelled'),
                      count(*) filter (where a.due_on < $8
                                       and a.status not in ('completed', 'cancelled')),
                      sum(a.progress) filter (where a.status <> 'cancelled'),
                      count(*) filter (where a.status <> 'cancelled')
               from current_actions($1, $2, $3, $4, $5) a
               join action_plans p on p.id = a.plan_id
               where ($4::date is not null or $5::date is not null)
                 and ($9::bigint is null or p.study_id in (select s.id from studies s where s.project_id = $9))
               group by 1
           )
           select grouping(k.code) = 1 as "total!",
                  case when grouping(k.code) = 0 then k.code end as code,
                  min(k.name_en) as name_en, min(k.name_km) as name_km,
                  case when grouping(k.code) = 0 then min(s.path) end as path,
                  min(s.min_x) as min_x, min(s.min_y) as min_y,
                  max(s.max_x) as max_x, max(s.max_y) as max_y,
                  count(*) filter (where k.code <> '' and (f.activities > 0 or st.published > 0)) as "covered!",
                  coalesce(sum(ld.cycles), 0)::bigint as "districts_listed!",
                  coalesce(sum(f.activities), 0)::bigint as "activities!",
                  coalesce(sum(f.female), 0)::bigint as "female!",
                  coalesce(sum(f.male), 0)::bigint as "male!",
                  coalesce(sum(f.respondents), 0)::bigint as "respondents!",
                  coalesce(sum(f.respondents_female), 0)::bigint as "respondents_female!",
                  coalesce(sum(f.youth), 0)::bigint as "youth!",
                  coalesce(sum(f.disabled), 0)::bigint as "persons_with_disabilities!",
                  coalesce(sum(f.rounded_female), 0)::bigint as "rounded_female!",
                  coalesce(sum(f.rounded_male), 0)::bigint as "rounded_male!",
                  coalesce(sum(f.rounded_respondents), 0)::bigint as "rounded_respondents!",
                  coalesce(sum(f.rounded_respondents_female), 0)::bigint as "rounded_respondents_female!",
                  coalesce(sum(st.published), 0)::bigint as "case_studies_published!",
                  coalesce(sum(l.lists), 0)::bigint as "lists!",
                  coalesce(sum(l.endorsed), 0)::bigint as "lists_endorsed!",
                  coalesce(sum(l.recommendations), 0)::bigint as "recommendations!",
                  coalesce(sum(l.recommendations_endorsed), 0)::bigint as "recommendations_endorsed!",
                  coalesce(sum(l.prioritized), 0)::bigint as "recommendations_prioritized!",
                  coalesce(sum(w.actions), 0)::bigint as "actions!",
                  coalesce(sum(w.not_started), 0)::bigint as "not_started!",
                  coalesce(sum(w.in_progress), 0)::bigint as "in_progress!",
                  coalesce(sum(w.completed), 0)::bigint as "completed!",
                  coalesce(sum(w.blocked), 0)::bigint as "blocked!",
                  coalesce(sum(w.cancelled), 0)::bigint as "cancelled!",
                  coalesce(sum(w.overdue), 0)::bigint as "overdue!",
                  coalesce(sum(w.progress_sum), 0)::bigint as "progress_sum!",
                  coalesce(sum(w.progress_count), 0)::bigint as "progress_count!"
           from keys k
           left join field f on f.district_code = k.code
           left join published_studies st on st.district_code = k.code
           left join lists l on l.district_code = k.code
           left join listed ld on ld.district_code = k.code
           left join work w on w.district_code = k.code
           left join district_shapes s on s.district_code = k.code
           group by grouping sets ((k.code), ())
           order by grouping(k.code) desc, min(k.name_en)"#,
        *study,
        province,
        district,
        *from,
        *to,
        reader.everywhere,
        &reader.own_districts,
        today,
        *project,
    )
    .fetch_all(pool);
    let choices = sqlx::query_as!(
        Choice,
        r#"select kind as "kind!", code as "code!", name_en as "name_en!", name_km as "name_km!"
           from (select 'study' as kind, id::text as code, title_en as name_en, title_km as name_km,
                        to_char(period_start, 'YYYY-MM-DD') as sort
                 from studies
                 union all
                 select 'province', code, name_en, name_km, code from provinces
                 union all
                 select 'district', code, name_en, name_km, name_en from districts
                 where $1 = '' or province_code = $1) choices
           order by kind, sort"#,
        if district.is_empty() {
            province.clone()
        } else {
            district[..2].to_owned()
        }
    )
    .fetch_all(pool);
    let (mut rows, breakdowns, events, choices) = tokio::try_join!(
        rows,
        breakdowns(pool, selection, reader),
        events(pool, selection),
        choices
    )?;
    // The total comes first; a district row without a code is the province-level plans'.
    let total = rows.remove(0);
    rows.retain(|row| row.code.as_deref().is_some_and(|code| !code.is_empty()));
    Ok(Figures {
        total,
        districts: rows,
        breakdowns,
        events,
        choices,
        as_of: time::OffsetDateTime::now_utc(),
        graphics: Default::default(),
        people: Default::default(),
    })
}

async fn breakdowns(
    pool: &PgPool,
    selection: &Selection,
    reader: &Reader,
) -> Result<Vec<Breakdown>, sqlx::Error> {
    let Selection {
        study,
        project,
        province,
        district,
        from,
        to,
    } = selection;
    sqlx::query_as!(
        Breakdown,
        // One pass over the activities into a small cube (kind × month, with
        // the kept participants per group, in `participant_groups()` order),
        // then each dimension from the cube; themes from each list's kept counts.
        r#"with cube as (
               select a.kind, to_char(a.held_on, 'YYYY-MM') as month, count(*) as activities,
                      sum(a.female_by_group[1]) as f1, sum(a.male_by_group[1]) as m1,
                      sum(a.female_by_group[2]) as f2, sum(a.male_by_group[2]) as m2,
                      sum(a.female_by_group[3]) as f3, sum(a.male_by_group[3]) as m3,
                      sum(a.female_by_group[4]) as f4, sum(a.male_by_group[4]) as m4,
                      sum(a.female_by_group[5]) as f5, sum(a.male_by_group[5]) as m5,
                      sum(a.female_by_group[6]) as f6, sum(a.male_by_group[6]) as m6,
                      sum(a.rounded_female_by_group[1]) as rf1, sum(a.rounded_male_by_group[1]) as rm1,
                      sum(a.rounded_female_by_group[2]) as rf2, sum(a.rounded_male_by_group[2]) as rm2,
                      sum(a.rounded_female_by_group[3]) as rf3, sum(a.rounded_male_by_group[3]) as rm3,
                      sum(a.rounded_female_by_group[4]) as rf4, sum(a.rounded_male_by_group[4]) as rm4,
                      sum(a.rounded_female_by_group[5]) as rf5, sum(a.rounded_male_by_group[5]) as rm5,
                      sum(a.rounded_female_by_group[6]) as rf6, sum(a.rounded_male_by_group[6]) as rm6
               from visible_activities($1, $2, $3, $4, $5, $6, $7) a
               where ($8::bigint is null or a.study_id in (select s.id from studies s where s.project_id = $8))
               group by 1, 2
           )
           select 'kind' as "dimension!", c.kind as "key!", '' as "name_en!", '' as "name_km!",
                  sum(c.activities)::bigint as "first!", 0::bigint as "second!",
                  0::bigint as "rounded_first!", 0::bigint as "rounded_second!"
           from cube c group by c.kind
           union all
           select 'group', g.name, '', '', sum(v.female)::bigint, sum(v.male)::bigint,
                  sum(v.rounded_female)::bigint, sum(v.rounded_male)::bigint
           from cube c
           cross join lateral (values (1, c.f1, c.m1, c.rf1, c.rm1), (2, c.f2, c.m2, c.rf2, c.rm2),
                                      (3, c.f3, c.m3, c.rf3, c.rm3), (4, c.f4, c.m4, c.rf4, c.rm4),
                                      (5, c.f5, c.m5, c.rf5, c.rm5), (6, c.f6, c.m6, c.rf6, c.rm6))
                v(i, female, male, rounded_female, rounded_male)
           join unnest(participant_groups()) with ordinality g(name, i) on g.i = v.i
           group by g.name
           having sum(v.female) + sum(v.male) > 0
           union all
           select 'month', c.month, '', '', sum(c.activities)::bigint, 0, 0, 0
           from cube c group by c.month
           union all
           select 'theme', coalesce(to_char(t.position, 'FM00000') || ':' || t.id, ''),
                  coalesce(t.name_en, ''), coalesce(t.name_km, ''),
                  sum(n.recommendations)::bigint,
                  coalesce(sum(n.recommendations) filter (where l.status = 'endorsed'), 0)::bigint,
                  0, 0
           from visible_recommendation_lists($1, $2, $3, $4, $5, $6, $7) l
           join list_theme_counts n on n.list_id = l.id
           left join themes t on t.id = n.theme_id
           where ($8::bigint is null or l.study_id in (select s.id from studies s where s.project_id = $8))
           group by t.id
           order by 1, 2"#,
        *study,
        province,
        district,
        *from,
        *to,
        reader.everywhere,
        &reader.own_districts,
        *project,
    )
    .fetch_all(pool)
    .await
}

/// Events by level, each counted where it was held: a national event falls
/// outside any province chosen. Events are read by everyone signed in.
async fn events(pool: &PgPool, selection: &Selection) -> Result<Vec<EventLevel>, sqlx::Error> {
    sqlx::query_as!(
        EventLevel,
        r#"select e.level as "level!", count(*) as "events!",
                  sum(e.participants_female)::bigint as "female!",
                  sum(e.participants - e.participants_female)::bigint as "male!",
                  sum(e.rounded_participants_female)::bigint as "rounded_female!",
                  sum(e.rounded_participants - e.rounded_participants_female)::bigint as "rounded_male!"
           from events e
           where $1::bigint is null
             and ($2 = '' or e.province_code = $2)
             and ($3 = '' or e.district_code = $3)
             and ($4::date is null or e.ends_on >= $4)
             and ($5::date is null or e.starts_on <= $5)
             and ($6::bigint is null or e.project_id = $6
                  or e.agreement_id in (select g.id from agreements g where g.project_id = $6))
           group by e.level
           order by array_position(array['national', 'provincial', 'district', 'commune'], e.level)"#,
        selection.study,
        selection.province,
        selection.district,
        selection.from,
        selection.to,
        selection.project,
    )
    .fetch_all(pool)
    .await
}

/// Figures are kept per selection and per set of records a reader may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    selection: Selection,
    everywhere: bool,
    own_districts: Vec<String>,
    today: Date,
}

type FiguresCache = GenerationCache<Key, Figures>;

/// The figures of `selection` for `reader`, from the cache while the data stands still.
pub async fn figures(
    state: &AppState,
    selection: &Selection,
    reader: &Reader,
    today: Date,
) -> Result<Arc<Figures>, sqlx::Error> {
    let key = Key {
        selection: selection.clone(),
        everywhere: reader.everywhere,
        own_districts: reader.own_districts.clone(),
        today,
    };
    state
        .kept("dashboard_figures", FiguresCache::new)
        .get(key, async || {
            compute(&state.aggregates, selection, reader, today).await
        })
        .await
}
