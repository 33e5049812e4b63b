//! Priorities: at provincial and national workshops the secretariat marks
//! endorsed recommendations as priorities, with a rank; the province and national
//! pages show every endorsed recommendation by theme, with its district and ranks.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::db::cache::GenerationCache;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::forms::{FieldErrors, Form};
use crate::web::{Actor, Ctx, Page, flash};

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
    rows: Vec<PriorityRow>,
    workshops: Vec<WorkshopChoice>,
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

async fn ranking(
    pool: &PgPool,
    province: Option<&str>,
    chosen: Option<i64>,
) -> Result<Ranking, sqlx::Error> {
    let studies = sqlx::query_as!(
        StudyChoice,
        "select s.id, s.title_en, s.title_km from studies s
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
async fn rows(pool: &PgPool, ids: &[i64]) -> Result<Vec<PriorityRow>, AppError> {
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
async fn workshops(pool: &PgPool, province: Option<&str>) -> Result<Vec<WorkshopChoice>, AppError> {
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

/// The province of a study, whose workshops its priorities are set at.
async fn study_province(pool: &PgPool, study: Option<i64>) -> Result<Option<String>, AppError> {
    Ok(
        sqlx::query_scalar!("select province_code from studies where id = $1", study)
            .fetch_optional(pool)
            .await?,
    )
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
    let rows = rows(pool, &shown).await?;
    let page = PrioritiesPage {
        rows,
        here,
        page: number,
        has_next,
        workshops: if can_set {
            let province = study_province(pool, ranking.study).await?;
            workshops(pool, province.as_deref()).await?
        } else {
            Vec::new()
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

#[derive(Debug, Default, Deserialize)]
pub struct PriorityForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    rank: String,
    #[serde(default)]
    workshop_id: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    back: String,
}

impl PriorityForm {
    /// The level, the rank (none removes the priority) and the workshop.
    fn check(&self, errors: &mut FieldErrors) -> Option<(String, Option<i32>, Option<i64>)> {
        let level =
            matches!(self.level.as_str(), "provincial" | "national").then(|| self.level.clone());
        if level.is_none() {
            errors.add("level", "error-priority-level-title");
        }
        let rank = match self.rank.trim() {
            "" => Some(None),
            text => text
                .parse::<i32>()
                .ok()
                .filter(|rank| (1..=1000).contains(rank))
                .map(Some),
        };
        if rank.is_none() {
            errors.add("rank", "error-priority-rank-body");
        }
        let workshop = match self.workshop_id.trim() {
            "" => Some(None),
            text => text.parse::<i64>().ok().map(Some),
        };
        if workshop.is_none() {
            errors.add("workshop_id", "error-priority-workshop-body");
        }
        Some((level?, rank?, workshop?))
    }

    /// The page the form was on, never another site.
    fn back(&self) -> String {
        if self.back.starts_with('/') && !self.back.starts_with("//") && self.back.len() <= 300 {
            self.back.clone()
        } else {
            "/recommendations/national".into()
        }
    }
}

/// One recommendation's priority form sent back: with its problems named, or
/// (`stale`) beside the priorities someone else set since the form was drawn;
/// the input kept either way.
#[derive(Template)]
#[template(path = "recommendations/priority.html")]
struct PriorityPage {
    ctx: Ctx,
    row: PriorityRow,
    form: PriorityForm,
    errors: FieldErrors,
    workshops: Vec<WorkshopChoice>,
    stale: bool,
    /// Who holds the rank asked for, when that was the refusal.
    holder: Option<RankHolder>,
}

async fn refused(
    (ctx, pool): (Ctx, &PgPool),
    id: i64,
    form: PriorityForm,
    errors: FieldErrors,
    stale: bool,
    holder: Option<RankHolder>,
) -> Result<Response, AppError> {
    let row = rows(pool, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    let page = PriorityPage {
        ctx,
        form: PriorityForm {
            version: row.priorities_version.to_string(),
            ..form
        },
        workshops: workshops(pool, Some(&row.province_code)).await?,
        row,
        errors,
        stale,
        holder,
    };
    Err(if stale {
        AppError::stale(&page)
    } else {
        AppError::invalid(&page)
    })
}

/// The endorsed recommendation that already holds a rank, named on the form
/// that asked for the same rank.
pub struct RankHolder {
    pub id: i64,
    pub list_id: i64,
    pub text_en: String,
    pub text_km: String,
    pub district_en: String,
    pub district_km: String,
}

/// The other endorsed recommendation of the same study that holds `rank` at
/// `level` in the same area (its province for the provincial level, the
/// country for the national), if any. Ranks count within one study: the next
/// cycle starts again at 1. The study's area is locked for the rest of the
/// transaction, so that two people giving the same rank at once cannot both
/// succeed.
async fn rank_holder(
    tx: &mut sqlx::PgConnection,
    id: i64,
    level: &str,
    rank: i32,
) -> Result<Option<RankHolder>, sqlx::Error> {
    sqlx::query_as!(
        RankHolder,
        r#"with area as (
               select l.study_id, case when $2 = 'national' then '' else left(l.district_code, 2) end as code
               from recommendations r join recommendation_lists l on l.id = r.list_id where r.id = $1
           ),
           locked as (
               select pg_advisory_xact_lock(hashtext('priority ' || $2 || ' ' || study_id || ' ' || code)) from area
           )
           select r.id, r.list_id, r.text_en, r.text_km, d.name_en as district_en, d.name_km as district_km
           from locked, area, priorities p
           join recommendations r on r.id = p.recommendation_id
           join recommendation_lists l on l.id = r.list_id
           join districts d on d.code = l.district_code
           where p.level = $2 and p.rank = $3 and p.recommendation_id <> $1
             and l.status = 'endorsed' and l.study_id = area.study_id
             and ($2 = 'national' or left(l.district_code, 2) = area.code)
           limit 1"#,
        id,
        level,
        rank,
    )
    .fetch_optional(&mut *tx)
    .await
}

/// Sets (or, with an empty rank, removes) a recommendation's priority at one
/// level. A form drawn before its priorities last changed saves nothing.
pub async fn set(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<PriorityForm>,
) -> Result<Response, AppError> {
    require(&user, Action::SetPriorities, Scope::Anything)?;
    let mut errors = FieldErrors::default();
    let Some((level, rank, workshop)) = form.check(&mut errors) else {
        return refused((ctx, &pool), id, form, errors, false, None).await;
    };
    let mut tx = pool.begin().await?;
    let current = sqlx::query!(
        r#"select l.status = 'endorsed' as "endorsed!", r.priorities_version
           from recommendations r join recommendation_lists l on l.id = r.list_id
           where r.id = $1 for update of r for share of l"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if !current.endorsed {
        return Err(AppError::Refused("error-priority-not-endorsed"));
    }
    if form.version.trim() != current.priorities_version.to_string() {
        drop(tx);
        return refused((ctx, &pool), id, form, errors, true, None).await;
    }
    if let Some(workshop) = workshop {
        let kind = format!("{level}_workshop");
        // A provincial workshop fits only its own province's recommendations.
        let matches = sqlx::query_scalar!(
            r#"select exists(
                   select 1 from activities a, recommendations r join recommendation_lists l on l.id = r.list_id
                   where a.id = $1 and a.kind = $2 and r.id = $3
                     and (a.kind = 'national_workshop' or left(a.district_code, 2) = left(l.district_code, 2))
               ) as "exists!""#,
            workshop,
            kind,
            id,
        )
        .fetch_one(&mut *tx)
        .await?;
        if !matches {
            drop(tx);
            errors.add("workshop_id", "error-priority-workshop-body");
            return refused((ctx, &pool), id, form, errors, false, None).await;
        }
    }
    if let Some(rank) = rank
        && let Some(holder) = rank_holder(&mut tx, id, &level, rank).await?
    {
        drop(tx);
        errors.add("rank", "error-priority-rank-taken-body");
        return refused((ctx, &pool), id, form, errors, false, Some(holder)).await;
    }
    match rank {
        Some(rank) => {
            sqlx::query!(
                "insert into priorities (recommendation_id, level, rank, workshop_id, set_by) values ($1, $2, $3, $4, $5)
                 on conflict (recommendation_id, level) do update
                     set rank = excluded.rank, workshop_id = excluded.workshop_id, set_by = excluded.set_by, set_at = now()",
                id,
                level,
                rank,
                workshop,
                user.id,
            )
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query!(
                "delete from priorities where recommendation_id = $1 and level = $2",
                id,
                level
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query!(
        "update recommendations set priorities_version = priorities_version + 1 where id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "priority_set",
            entity: "recommendation",
            entity_id: Some(id.to_string()),
            summary: format!(
                "{level}: {}",
                rank.map_or("removed".to_owned(), |rank| rank.to_string())
            ),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&form.back()).into_response())
}
