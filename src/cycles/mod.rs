//! `/provinces/{code}/cycles` (and `/public/provinces/{code}/cycles`): one
//! cycle of a province against another, side by side. Who took part, how
//! many recommendations were listed, endorsed and prioritized, how far the
//! actions got, and, for the recommendations that recur (the same theme in
//! the same district), what became of the earlier ones. Counted in SQL for
//! the reader: what they may read, with the small-count rule.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;

use crate::auth::policy::Principal;
use crate::auth::reader::Reader;
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::disclosure::{self, Count, Shown};
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::Ctx;

pub fn routes() -> Router<AppState> {
    Router::new().route("/provinces/{code}/cycles", get(compare))
}

/// Which two studies: `a` the earlier, `b` the later; by default the two
/// latest of the province.
#[derive(Debug, Default, Deserialize)]
pub struct Chosen {
    #[serde(default)]
    pub a: String,
    #[serde(default)]
    pub b: String,
}

/// A study of the province, for the choice and the columns' headings.
pub struct CycleStudy {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub period_start: time::Date,
}

/// One cycle's figures.
pub struct CycleFigures {
    pub study_id: i64,
    pub districts: i64,
    pub respondents: i64,
    pub respondents_female: i64,
    /// The same as outsiders see them (`disclosure`).
    pub rounded_respondents: i64,
    pub rounded_respondents_female: i64,
    pub listed: i64,
    pub endorsed: i64,
    pub prioritized: i64,
    pub actions: i64,
    pub completed: i64,
    pub overdue: i64,
    pub average_progress: Option<i32>,
}

/// A district and theme with recommendations in both cycles.
pub struct Recurring {
    pub district_en: String,
    pub district_km: String,
    pub theme_en: String,
    pub theme_km: String,
    pub earlier: i64,
    pub earlier_done: i64,
    pub earlier_planned: i64,
    pub later: i64,
}

/// The comparison, ready to show.
pub struct Comparison {
    pub province_code: String,
    pub province_en: String,
    pub province_km: String,
    pub studies: Vec<CycleStudy>,
    pub pair: Option<[(CycleStudy, CycleFigures); 2]>,
    pub recurring: Vec<Recurring>,
    pub blurred: bool,
    /// A study was asked for that this reader has no such study of the province.
    pub unknown_study: bool,
}

impl Comparison {
    /// Is `study` the one compared on this side (0 earlier, 1 later)?
    pub fn chosen(&self, side: usize, study: &CycleStudy) -> bool {
        self.pair
            .as_ref()
            .is_some_and(|pair| pair[side].0.id == study.id)
    }

    /// Respondents as the reader may see them, and the share of women.
    pub fn respondents(&self, figures: &CycleFigures) -> (Shown, String) {
        let total =
            Count::new(figures.respondents, figures.rounded_respondents).shown(self.blurred);
        let female = Count::new(
            figures.respondents_female,
            figures.rounded_respondents_female,
        )
        .shown(self.blurred);
        (total, disclosure::share(female, total))
    }
}

/// The studies of a province that `public_only` allows, latest first.
async fn studies_of(
    pool: &PgPool,
    province: &str,
    public_only: bool,
) -> Result<Vec<CycleStudy>, sqlx::Error> {
    sqlx::query_as!(
        CycleStudy,
        "select id, title_en, title_km, period_start from studies
         where province_code = $1 and ($2 = false or public_since is not null)
         order by period_start desc, id desc",
        province,
        public_only
    )
    .fetch_all(pool)
    .await
}

/// Both cycles' figures in one statement. The activities, lists, endorsed
/// recommendations and actions of the two studies are gathered first, each
/// through an index on its study (a study given to `visible_activities`
/// itself would leave its `study is null or …` to every row of the table).
async fn figures(
    pool: &PgPool,
    studies: [i64; 2],
    reader: &Reader,
) -> Result<Vec<CycleFigures>, sqlx::Error> {
    let today = crate::format::today();
    sqlx::query_as!(
        CycleFigures,
        r#"with seen as materialized (
               select a.study_id, a.district_code, a.kind, a.participants, a.participants_female,
                      a.rounded_participants, a.rounded_participants_female
               from visible_activities(null, '', '', null, null, $2, $3) a
               where a.study_id = any($1)
           ), listed as materialized (
               select l.id, l.study_id, l.district_code
               from visible_recommendation_lists(null, '', '', null, null, $2, $3) l
               where l.study_id = any($1)
           ), endorsed as materialized (
               select l.study_id, exists (select 1 from priorities p where p.recommendation_id = r.id) as prioritized
               from recommendation_lists l join recommendations r on r.list_id = l.id
               where l.study_id = any($1) and l.status = 'endorsed'
           ), acted as materialized (
               select p.study_id, a.status, a.due_on, a.progress
               from action_plans p join actions a on a.plan_id = p.id
               where p.study_id = any($1)
           )
           select s.id as "study_id!",
                  (select count(*) from (
                       select district_code from seen where seen.study_id = s.id
                       union select district_code from listed where listed.study_id = s.id
                   ) covered) as "districts!",
                  r.respondents as "respondents!", r.respondents_female as "respondents_female!",
                  r.rounded_respondents as "rounded_respondents!",
                  r.rounded_respondents_female as "rounded_respondents_female!",
                  (select count(*) from listed l join recommendations r on r.list_id = l.id
                   where l.study_id = s.id) as "listed!",
                  e.endorsed as "endorsed!", e.prioritized as "prioritized!",
                  a.actions as "actions!", a.completed as "completed!", a.overdue as "overdue!",
                  a.average_progress
           from studies s
           cross join lateral (
               select coalesce(sum(participants), 0) as respondents,
                      coalesce(sum(participants_female), 0) as respondents_female,
                      coalesce(sum(rounded_participants), 0) as rounded_respondents,
                      coalesce(sum(rounded_participants_female), 0) as rounded_respondents_female
               from seen where seen.study_id = s.id and kind in ('fgd', 'interview')
           ) r
           cross join lateral (
               select count(*) as endorsed, count(*) filter (where prioritized) as prioritized
               from endorsed where endorsed.study_id = s.id
           ) e
           cross join lateral (
               select count(*) as actions, count(*) filter (where status = 'completed') as completed,
                      count(*) filter (where due_on < $4 and status not in ('completed', 'cancelled')) as overdue,
                      round(avg(progress) filter (where status <> 'cancelled'))::int as average_progress
               from acted where acted.study_id = s.id
           ) a
           where s.id = any($1)"#,
        &studies[..],
        reader.everywhere,
        &reader.own_districts,
        today,
    )
    .fetch_all(pool)
    .await
}

/// Endorsed recommendations of the same theme and district in both cycles;
/// an earlier one is done when every action taken on it is completed, and
/// planned when some action takes it up.
async fn recurring(pool: &PgPool, earlier: i64, later: i64) -> Result<Vec<Recurring>, sqlx::Error> {
    sqlx::query_as!(
        Recurring,
        r#"with endorsed as (
               select r.id, l.study_id, l.district_code, r.theme_id,
                      exists (select 1 from action_recommendations ar where ar.recommendation_id = r.id) as planned,
                      exists (select 1 from action_recommendations ar where ar.recommendation_id = r.id)
                      and not exists (select 1 from action_recommendations ar join actions a on a.id = ar.action_id
                                      where ar.recommendation_id = r.id and a.status <> 'completed') as done
               from recommendations r join recommendation_lists l on l.id = r.list_id
               where l.status = 'endorsed' and l.study_id in ($1, $2) and r.theme_id is not null
           )
           select d.name_en as district_en, d.name_km as district_km,
                  t.name_en as theme_en, t.name_km as theme_km,
                  count(*) filter (where e.study_id = $1) as "earlier!",
                  count(*) filter (where e.study_id = $1 and e.done) as "earlier_done!",
                  count(*) filter (where e.study_id = $1 and e.planned and not e.done) as "earlier_planned!",
                  count(*) filter (where e.study_id = $2) as "later!"
           from endorsed e join districts d on d.code = e.district_code join themes t on t.id = e.theme_id
           group by d.code, d.name_en, d.name_km, t.position, t.name_en, t.name_km
           having count(*) filter (where e.study_id = $1) > 0 and count(*) filter (where e.study_id = $2) > 0
           order by d.code, t.position"#,
        earlier,
        later
    )
    .fetch_all(pool)
    .await
}

/// The comparison for `reader`; `None` when the province is not there.
pub async fn load(
    pool: &PgPool,
    province: &str,
    chosen: &Chosen,
    principal: &impl Principal,
    public_only: bool,
) -> Result<Option<Comparison>, AppError> {
    let Some(names) = sqlx::query!(
        "select name_en, name_km from provinces where code = $1",
        province
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let reader = Reader::of(principal, "");
    let studies = studies_of(pool, province, public_only).await?;
    let find = |chosen: &str| {
        chosen
            .parse::<i64>()
            .ok()
            .and_then(|id| studies.iter().position(|study| study.id == id))
    };
    let unknown_study = [&chosen.a, &chosen.b]
        .iter()
        .any(|chosen| !chosen.is_empty() && find(chosen).is_none());
    let pick = |chosen: &str, default: usize| {
        find(chosen).or((studies.len() > default).then_some(default))
    };
    // By default the latest (b) against the one before it (a).
    let pair = match (pick(&chosen.a, 1), pick(&chosen.b, 0)) {
        (Some(a), Some(b)) if a != b => Some((a, b)),
        _ => None,
    };
    let mut comparison = Comparison {
        province_code: province.to_owned(),
        province_en: names.name_en,
        province_km: names.name_km,
        pair: None,
        recurring: Vec::new(),
        blurred: reader.blurs_small_counts,
        unknown_study,
        studies: Vec::new(),
    };
    if let Some((a, b)) = pair {
        let ids = [studies[a].id, studies[b].id];
        let mut counted = figures(pool, ids, &reader).await?;
        let mut take = |id: i64| {
            counted
                .iter()
                .position(|figures| figures.study_id == id)
                .map(|index| counted.swap_remove(index))
        };
        if let (Some(first), Some(second)) = (take(ids[0]), take(ids[1])) {
            comparison.recurring = recurring(pool, ids[0], ids[1]).await?;
            let copy = |study: &CycleStudy| CycleStudy {
                id: study.id,
                title_en: study.title_en.clone(),
                title_km: study.title_km.clone(),
                period_start: study.period_start,
            };
            comparison.pair = Some([(copy(&studies[a]), first), (copy(&studies[b]), second)]);
        }
    }
    comparison.studies = studies;
    Ok(Some(comparison))
}

#[derive(Template)]
#[template(path = "cycles/compare.html")]
struct ComparePage<'a> {
    ctx: Ctx,
    comparison: &'a Comparison,
}

/// Comparisons by province, chosen pair and reader, kept until the data
/// changes: each adds up two cycles' activities, lists and actions.
type ComparisonCache = GenerationCache<(String, String, String, Reader), Option<Comparison>>;

/// `/provinces/{code}/cycles?a=&b=`: for anyone signed in, as they may read.
async fn compare(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(chosen): Query<Chosen>,
) -> Result<Response, AppError> {
    let key = (
        code.clone(),
        chosen.a.clone(),
        chosen.b.clone(),
        Reader::of(&user, ""),
    );
    let pool = &state.pool;
    let comparison = state
        .kept("cycle_comparisons", ComparisonCache::large)
        .get(key, async || load(pool, &code, &chosen, &user, false).await)
        .await?;
    let comparison = Option::as_ref(&comparison).ok_or(AppError::NotFound)?;
    // An address naming no study of the province: the choice back, with why.
    let refused = comparison.unknown_study;
    let page = ComparePage { ctx, comparison };
    if refused {
        return Err(AppError::invalid(&page));
    }
    render(&page).map(IntoResponse::into_response)
}
