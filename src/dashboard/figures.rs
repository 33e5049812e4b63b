//! The dashboard's figures: three aggregate queries over what the reader may see
//! (the `visible_*` and `current_actions` functions of the database), cached
//! until the data changes.

use std::sync::{Arc, OnceLock};

use sqlx::PgPool;
use time::Date;

use super::filters::{Reader, Selection};
use super::people::People;
use crate::db::cache::GenerationCache;
use crate::web::Ctx;

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
    /// Districts with a recommendation list in the selection, read or not.
    pub districts_listed: i64,
    pub activities: i64,
    pub female: i64,
    pub male: i64,
    /// Participants of focus groups and interviews: the citizens heard.
    pub respondents: i64,
    pub respondents_female: i64,
    pub youth: i64,
    pub persons_with_disabilities: i64,
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

    pub fn participants(&self) -> i64 {
        self.female + self.male
    }

    /// The plain average progress of the actions that count, or `None`.
    pub fn average_progress(&self) -> Option<i64> {
        (self.progress_count > 0)
            .then(|| (self.progress_sum + self.progress_count / 2) / self.progress_count)
    }
}

/// A count along one dimension: activities by kind or month, participants by
/// group (`first` female, `second` male), recommendations by theme (`first`
/// listed, `second` endorsed).
#[derive(Debug, Clone)]
pub struct Breakdown {
    pub dimension: String,
    pub key: String,
    pub name_en: String,
    pub name_km: String,
    pub first: i64,
    pub second: i64,
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
    pub choices: Vec<Choice>,
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
        province,
        district,
        from,
        to,
    } = selection;
    let mut rows = sqlx::query_as!(
        DistrictFigures,
        r#"with keys as (
               select d.code, d.name_en, d.name_km from districts d
               where ($2 = '' or d.province_code = $2) and ($3 = '' or d.code = $3)
               -- Province-level action plans belong to no district.
               union all select '', '', ''
           ),
           field as (
               select a.district_code, count(*) as activities, sum(a.youth) as youth,
                      sum(a.persons_with_disabilities) as disabled
               from visible_activities($1, $2, $3, $4, $5, $6, $7) a
               group by a.district_code
           ),
           people as (
               select a.district_code,
                      sum(p.count) filter (where p.sex = 'female') as female,
                      sum(p.count) filter (where p.sex = 'male') as male,
                      sum(p.count) filter (where a.kind in ('fgd', 'interview')) as respondents,
                      sum(p.count) filter (where a.kind in ('fgd', 'interview')
                                           and p.sex = 'female') as respondents_female
               from visible_activities($1, $2, $3, $4, $5, $6, $7) a
               join participant_counts p on p.activity_id = a.id
               group by a.district_code
           ),
           studies as (
               select c.district_code, count(*) as published
               from visible_case_studies($1, $2, $3, $4, $5, $6, $7) c
               where c.status in ('published', 'archived')
               group by c.district_code
           ),
           lists as (
               select l.district_code, count(distinct l.id) as lists,
                      count(distinct l.id) filter (where l.status = 'endorsed') as endorsed,
                      count(r.id) as recommendations,
                      count(r.id) filter (where l.status = 'endorsed') as recommendations_endorsed,
                      count(r.id) filter (where exists (
                          select 1 from priorities pr where pr.recommendation_id = r.id)) as prioritized
               from visible_recommendation_lists($1, $2, $3, $4, $5, $6, $7) l
               left join recommendations r on r.list_id = l.id
               group by l.district_code
           ),
           -- Districts with a list in the selection, whoever may read it: the
           -- endorsement rate's denominator, for every reader the same.
           listed as (
               select l.district_code
               from visible_recommendation_lists($1, $2, $3, $4, $5, true, '{}') l
               group by l.district_code
           ),
           work as (
               select coalesce(a.district_code, '') as district_code, count(*) as actions,
                      count(*) filter (where a.status = 'not_started') as not_started,
                      count(*) filter (where a.status = 'in_progress') as in_progress,
                      count(*) filter (where a.status = 'completed') as completed,
                      count(*) filter (where a.status = 'blocked') as blocked,
                      count(*) filter (where a.status = 'cancelled') as cancelled,
                      count(*) filter (where a.due_on < $8
                                       and a.status not in ('completed', 'cancelled')) as overdue,
                      sum(a.progress) filter (where a.status <> 'cancelled') as progress_sum,
                      count(*) filter (where a.status <> 'cancelled') as progress_count
               from current_actions($1, $2, $3, $4, $5) a
               group by 1
           )
           select grouping(k.code) = 1 as "total!",
                  case when grouping(k.code) = 0 then k.code end as code,
                  min(k.name_en) as name_en, min(k.name_km) as name_km,
                  case when grouping(k.code) = 0 then min(s.path) end as path,
                  min(s.min_x) as min_x, min(s.min_y) as min_y,
                  max(s.max_x) as max_x, max(s.max_y) as max_y,
                  count(*) filter (where k.code <> '' and (f.activities > 0 or st.published > 0)) as "covered!",
                  count(ld.district_code) as "districts_listed!",
                  coalesce(sum(f.activities), 0)::bigint as "activities!",
                  coalesce(sum(p.female), 0)::bigint as "female!",
                  coalesce(sum(p.male), 0)::bigint as "male!",
                  coalesce(sum(p.respondents), 0)::bigint as "respondents!",
                  coalesce(sum(p.respondents_female), 0)::bigint as "respondents_female!",
                  coalesce(sum(f.youth), 0)::bigint as "youth!",
                  coalesce(sum(f.disabled), 0)::bigint as "persons_with_disabilities!",
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
           left join people p on p.district_code = k.code
           left join studies st on st.district_code = k.code
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
    )
    .fetch_all(pool)
    .await?;
    let breakdowns = breakdowns(pool, selection, reader).await?;
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
    .fetch_all(pool)
    .await?;
    // The total comes first; a district row without a code is the province-level plans'.
    let total = rows.remove(0);
    rows.retain(|row| row.code.as_deref().is_some_and(|code| !code.is_empty()));
    Ok(Figures {
        total,
        districts: rows,
        breakdowns,
        choices,
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
        province,
        district,
        from,
        to,
    } = selection;
    sqlx::query_as!(
        Breakdown,
        r#"with activities as (
               select * from visible_activities($1, $2, $3, $4, $5, $6, $7)
           )
           select 'kind' as "dimension!", a.kind as "key!", '' as "name_en!", '' as "name_km!",
                  count(*) as "first!", 0::bigint as "second!"
           from activities a group by a.kind
           union all
           select 'group', p.participant_group, '', '',
                  coalesce(sum(p.count) filter (where p.sex = 'female'), 0),
                  coalesce(sum(p.count) filter (where p.sex = 'male'), 0)
           from activities a join participant_counts p on p.activity_id = a.id
           group by p.participant_group
           union all
           select 'month', to_char(a.held_on, 'YYYY-MM'), '', '', count(*), 0
           from activities a group by 2
           union all
           select 'theme', coalesce(to_char(t.position, 'FM00000') || ':' || t.id, ''),
                  coalesce(t.name_en, ''), coalesce(t.name_km, ''),
                  count(r.id), count(r.id) filter (where l.status = 'endorsed')
           from visible_recommendation_lists($1, $2, $3, $4, $5, $6, $7) l
           join recommendations r on r.list_id = l.id
           left join themes t on t.id = r.theme_id
           group by t.id
           order by 1, 2"#,
        *study,
        province,
        district,
        *from,
        *to,
        reader.everywhere,
        &reader.own_districts,
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

pub type FiguresCache = GenerationCache<Key, Figures>;

/// The figures of `selection` for `reader`, from the cache while the data stands still.
pub async fn figures(
    cache: &FiguresCache,
    pool: &PgPool,
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
    cache
        .get(key, async || compute(pool, selection, reader, today).await)
        .await
}
