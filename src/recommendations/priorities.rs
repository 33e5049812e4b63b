//! Priorities: at provincial and national workshops the secretariat marks
//! endorsed recommendations as priorities, with a rank; the province and national
//! pages show every endorsed recommendation by theme, with its district and ranks.
//! Setting one is `priority_form`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::PgPool;

use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::{Ctx, Page};

/// An endorsed recommendation as the priority pages list it.
pub struct PriorityRow {
    pub id: i64,
    pub list_id: i64,
    pub text_en: String,
    pub text_km: String,
    pub theme_en: Option<String>,
    pub theme_km: Option<String>,
    pub province_code: String,
    pub province_en: String,
    pub province_km: String,
    pub district_en: String,
    pub district_km: String,
    pub provincial_rank: Option<i32>,
    pub national_rank: Option<i32>,
    /// The version of its priorities, which a form sends back.
    pub priorities_version: i32,
}

impl PriorityRow {
    fn theme(&self) -> &str {
        self.theme_en.as_deref().unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "recommendations/priorities.html")]
struct PrioritiesPage {
    ctx: Ctx,
    title_en: String,
    title_km: String,
    rows: Arc<Vec<PriorityRow>>,
    workshops: Arc<Vec<WorkshopChoice>>,
    /// The studies with endorsed lists here, newest first: (id, title in English, in Khmer).
    studies: Vec<(i64, String, String)>,
    /// The study shown.
    study: Option<i64>,
    can_set: bool,
    back: String,
    /// This page's address without its query, for the study links.
    address: String,
    /// This page's address with the study chosen, ready for `page=`.
    here: String,
    page: Page,
    has_next: bool,
}

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
    study: Option<i64>,
}

impl PrioritiesPage {
    fn shows(&self, study: &i64) -> bool {
        self.study == Some(*study)
    }

    /// Where a priority form returns: this page, on its study.
    fn this_page(&self) -> String {
        self.here.trim_end_matches(['?', '&']).to_owned()
    }

    /// Whether `index` starts a new theme group.
    fn starts_theme(&self, index: &usize) -> bool {
        *index == 0
            || self.rows.get(*index - 1).map(PriorityRow::theme)
                != self.rows.get(*index).map(PriorityRow::theme)
    }
}

/// A study (one cycle) whose endorsed lists the pages can show.
pub struct StudyChoice {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    /// Where its provincial workshops are held.
    pub province_code: String,
}

/// Every endorsed recommendation of one study in a province (or in the
/// country), in the order the pages show them: by theme, provincial rank,
/// district and position. Ranks count within one study, so a page shows one
/// study at a time, the newest unless another is chosen. Ranking a province's
/// thousands of recommendations is the heavy part, so it is kept until the
/// data changes.
pub struct Ranking {
    name_en: Option<String>,
    name_km: Option<String>,
    studies: Vec<StudyChoice>,
    study: Option<i64>,
    ids: Vec<i64>,
}

type RankingCache = GenerationCache<(Option<String>, Option<i64>), Ranking>;

/// A page of a ranking, by the recommendations it shows (a ranking computed
/// before a change must not name another's rows), and the workshops offered
/// by province: the same for every reader, kept with the ranking.
type RowsCache = GenerationCache<Vec<i64>, Vec<PriorityRow>>;
type WorkshopsCache = GenerationCache<Option<String>, Vec<WorkshopChoice>>;

async fn ranking(
    pool: &PgPool,
    province: Option<&str>,
    chosen: Option<i64>,
) -> Result<Ranking, sqlx::Error> {
    let studies = sqlx::query_as!(
        StudyChoice,
        "select s.id, s.title_en, s.title_km, s.province_code from studies s
         where exists (select 1 from recommendation_lists l join districts d on d.code = l.district_code
                       where l.study_id = s.id and l.status = 'endorsed'
                         and ($1::text is null or d.province_code = $1))
         order by s.period_start desc, s.id desc",
        province
    )
    .fetch_all(pool)
    .await?;
    let study = chosen
        .filter(|id| studies.iter().any(|study| study.id == *id))
        .or_else(|| studies.first().map(|study| study.id));
    let row = sqlx::query!(
        r#"select (select name_en from provinces where code = $1) as name_en,
                  (select name_km from provinces where code = $1) as name_km,
                  array(select r.id
                        from recommendation_lists l
                        join districts d on d.code = l.district_code
                        join recommendations r on r.list_id = l.id
                        left join themes t on t.id = r.theme_id
                        left join priorities provincial
                            on provincial.recommendation_id = r.id and provincial.level = 'provincial'
                        where l.status = 'endorsed' and l.study_id = $2
                          and ($1::text is null or d.province_code = $1)
                        order by t.position nulls last, r.theme_id, coalesce(provincial.rank, 10000),
                                 l.district_code, r.position, r.id) as "ids!""#,
        province,
        study,
    )
    .fetch_one(pool)
    .await?;
    Ok(Ranking {
        name_en: row.name_en,
        name_km: row.name_km,
        studies,
        study,
        ids: row.ids,
    })
}

/// The recommendations `ids`, in that order.
pub(super) async fn rows(pool: &PgPool, ids: &[i64]) -> Result<Vec<PriorityRow>, AppError> {
    Ok(sqlx::query_as!(
        PriorityRow,
        r#"select r.id, r.list_id, r.text_en, r.text_km, t.name_en as "theme_en?", t.name_km as "theme_km?",
                  p.code as province_code, p.name_en as province_en, p.name_km as province_km, d.name_en as district_en, d.name_km as district_km,
                  provincial.rank as "provincial_rank?", national.rank as "national_rank?", r.priorities_version
           from unnest($1::bigint[]) with ordinality shown(id, n)
           join recommendations r on r.id = shown.id
           join recommendation_lists l on l.id = r.list_id
           join districts d on d.code = l.district_code
           join provinces p on p.code = d.province_code
           left join themes t on t.id = r.theme_id
           left join priorities provincial on provincial.recommendation_id = r.id and provincial.level = 'provincial'
           left join priorities national on national.recommendation_id = r.id and national.level = 'national'
           order by shown.n"#,
        ids
    )
    .fetch_all(pool)
    .await?)
}

/// A workshop a priority can be credited to.
pub struct WorkshopChoice {
    pub id: i64,
    /// `provincial_workshop` or `national_workshop`.
    pub kind: String,
    pub held_on: String,
    pub place: String,
    pub district_en: String,
    pub district_km: String,
}

/// The workshops that fit a study of `province`: its province's provincial
/// workshops and every national one, newest first.
pub(super) async fn workshops(
    pool: &PgPool,
    province: Option<&str>,
) -> Result<Vec<WorkshopChoice>, AppError> {
    Ok(sqlx::query_as!(
        WorkshopChoice,
        r#"select a.id, a.kind, a.held_on::text as "held_on!", a.place, d.name_en as district_en, d.name_km as district_km
           from activities a join districts d on d.code = a.district_code
           where a.kind = 'national_workshop'
              or (a.kind = 'provincial_workshop' and d.province_code = $1)
           order by a.held_on desc, a.id desc"#,
        province
    )
    .fetch_all(pool)
    .await?)
}

pub async fn province(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let back = format!("/provinces/{code}");
    page(ctx, &user, &state, Some(code), back, query).await
}

pub async fn national(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    page(ctx, &user, &state, None, "/districts".into(), query).await
}

async fn page(
    ctx: Ctx,
    user: &CurrentUser,
    state: &AppState,
    province: Option<String>,
    back: String,
    query: PageQuery,
) -> Result<Response, AppError> {
    let pool = &state.pool;
    let code = province.clone();
    let ranking = state
        .kept("priority_rankings", RankingCache::new)
        .get((province, query.study), async || {
            ranking(pool, code.as_deref(), query.study).await
        })
        .await?;
    let (address, title_en, title_km) = match (&code, &ranking.name_en, &ranking.name_km) {
        (Some(code), Some(name_en), Some(name_km)) => (
            format!("/provinces/{code}/recommendations"),
            name_en.clone(),
            name_km.clone(),
        ),
        (Some(_), _, _) => return Err(AppError::NotFound),
        (None, _, _) => (
            "/recommendations/national".to_owned(),
            "Cambodia".to_owned(),
            "កម្ពុជា".to_owned(),
        ),
    };
    let here = match ranking.study {
        Some(study) if ranking.studies.len() > 1 => format!("{address}?study={study}&"),
        _ => format!("{address}?"),
    };
    let number = Page::new(query.page, PAGE_SIZE);
    let start = usize::try_from(number.offset()).unwrap_or(usize::MAX);
    let shown: Vec<i64> = ranking
        .ids
        .iter()
        .skip(start)
        .take(PAGE_SIZE as usize)
        .copied()
        .collect();
    let has_next = ranking.ids.len() > start.saturating_add(shown.len());
    // Endorsed recommendations are published material: everyone signed in reads them.
    let can_set = policy::allows(user, Action::SetPriorities, Scope::Anything);
    let rows = state
        .kept("priority_pages", RowsCache::large)
        .get(shown.clone(), async || rows(pool, &shown).await)
        .await?;
    let page = PrioritiesPage {
        rows,
        here,
        page: number,
        has_next,
        workshops: if can_set {
            let province = ranking
                .studies
                .iter()
                .find(|study| Some(study.id) == ranking.study)
                .map(|study| study.province_code.clone());
            state
                .kept("priority_workshops", WorkshopsCache::new)
                .get(province.clone(), async || {
                    workshops(pool, province.as_deref()).await
                })
                .await?
        } else {
            Arc::default()
        },
        studies: ranking
            .studies
            .iter()
            .map(|study| (study.id, study.title_en.clone(), study.title_km.clone()))
            .collect(),
        study: ranking.study,
        address,
        ctx,
        title_en,
        title_km,
        can_set,
        back,
    };
    render(&page).map(IntoResponse::into_response)
}
