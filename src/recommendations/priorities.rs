//! Priorities: at provincial and national workshops the secretariat marks
//! endorsed recommendations as priorities, with a rank; the province and national
//! pages show every endorsed recommendation by theme, with its district and ranks.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;
use tower_sessions::Session;

use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::forms::Form;
use crate::web::{ClientIp, Ctx, Page, flash};

/// An endorsed recommendation as the priority pages list it.
pub struct PriorityRow {
    pub id: i64,
    pub list_id: i64,
    pub text_en: String,
    pub text_km: String,
    pub theme_en: Option<String>,
    pub theme_km: Option<String>,
    pub province_en: String,
    pub district_en: String,
    pub district_km: String,
    pub provincial_rank: Option<i32>,
    pub national_rank: Option<i32>,
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
    workshops: Vec<(i64, String, String)>,
    can_set: bool,
    back: String,
    /// This page's address, for the pager.
    here: String,
    page: Page,
    has_next: bool,
}

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

impl PrioritiesPage {
    /// Whether `index` starts a new theme group.
    fn starts_theme(&self, index: &usize) -> bool {
        *index == 0
            || self.rows.get(*index - 1).map(PriorityRow::theme)
                != self.rows.get(*index).map(PriorityRow::theme)
    }
}

async fn rows(
    pool: &PgPool,
    province: Option<&str>,
    page: Page,
) -> Result<Vec<PriorityRow>, AppError> {
    Ok(sqlx::query_as!(
        PriorityRow,
        // The page is chosen on narrow rows (an index holds theme and position);
        // only its 50 recommendations are then read whole.
        r#"with ranked as (
               select r.id, t.position as theme_position, r.theme_id, l.district_code, r.position,
                      provincial.rank as provincial_rank
               from recommendation_lists l
               join districts d on d.code = l.district_code
               join recommendations r on r.list_id = l.id
               left join themes t on t.id = r.theme_id
               left join priorities provincial
                   on provincial.recommendation_id = r.id and provincial.level = 'provincial'
               where l.status = 'endorsed' and ($1::text is null or d.province_code = $1)
               order by t.position nulls last, r.theme_id, coalesce(provincial.rank, 10000),
                        l.district_code, r.position, r.id
               limit $2 offset $3
           )
           select r.id, r.list_id, r.text_en, r.text_km, t.name_en as "theme_en?", t.name_km as "theme_km?",
                  p.name_en as province_en, d.name_en as district_en, d.name_km as district_km,
                  x.provincial_rank as "provincial_rank?", national.rank as "national_rank?"
           from ranked x
           join recommendations r on r.id = x.id
           join districts d on d.code = x.district_code
           join provinces p on p.code = d.province_code
           left join themes t on t.id = x.theme_id
           left join priorities national on national.recommendation_id = x.id and national.level = 'national'
           order by x.theme_position nulls last, x.theme_id, coalesce(x.provincial_rank, 10000),
                    x.district_code, x.position, x.id"#,
        province,
        page.limit(),
        page.offset(),
    )
    .fetch_all(pool)
    .await?)
}

async fn workshops(pool: &PgPool) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(sqlx::query!(
        "select id, kind, held_on::text || ' · ' || kind as \"label!\" from activities
         where kind in ('provincial_workshop', 'national_workshop') order by held_on desc"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.kind, row.label))
    .collect())
}

pub async fn province(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(code): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let province = sqlx::query!(
        "select name_en, name_km from provinces where code = $1",
        code
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    page(
        ctx,
        &user,
        &pool,
        Some(&code),
        (province.name_en, province.name_km),
        format!("/provinces/{code}"),
        Page::new(query.page, PAGE_SIZE),
    )
    .await
}

pub async fn national(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    page(
        ctx,
        &user,
        &pool,
        None,
        ("Cambodia".into(), "កម្ពុជា".into()),
        "/districts".into(),
        Page::new(query.page, PAGE_SIZE),
    )
    .await
}

async fn page(
    ctx: Ctx,
    user: &CurrentUser,
    pool: &PgPool,
    province: Option<&str>,
    (title_en, title_km): (String, String),
    back: String,
    number: Page,
) -> Result<Response, AppError> {
    // Endorsed recommendations are published material: everyone signed in reads them.
    let can_set = policy::allows(user, Action::SetPriorities, Scope::Anything);
    let mut rows = rows(pool, province, number).await?;
    let has_next = number.has_next(&mut rows);
    let here = match province {
        Some(code) => format!("/provinces/{code}/recommendations"),
        None => "/recommendations/national".to_owned(),
    };
    let page = PrioritiesPage {
        rows,
        here,
        page: number,
        has_next,
        workshops: if can_set {
            workshops(pool).await?
        } else {
            Vec::new()
        },
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
    back: String,
}

/// Sets (or, with an empty rank, removes) a recommendation's priority at one level.
pub async fn set(
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<PriorityForm>,
) -> Result<Response, AppError> {
    require(&user, Action::SetPriorities, Scope::Anything)?;
    let level = match form.level.as_str() {
        "provincial" | "national" => form.level.clone(),
        _ => return Err(AppError::Refused("error-priority-level")),
    };
    let rank = match form.rank.trim() {
        "" => None,
        text => Some(
            text.parse::<i32>()
                .ok()
                .filter(|rank| (1..=1000).contains(rank))
                .ok_or(AppError::Refused("error-priority-rank"))?,
        ),
    };
    let workshop = match form.workshop_id.trim() {
        "" => None,
        text => Some(
            text.parse::<i64>()
                .map_err(|_| AppError::Refused("error-priority-workshop"))?,
        ),
    };
    let mut tx = pool.begin().await?;
    let endorsed = sqlx::query_scalar!(
        r#"select l.status = 'endorsed' as "endorsed!" from recommendations r
           join recommendation_lists l on l.id = r.list_id where r.id = $1 for share of l"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if !endorsed {
        return Err(AppError::Refused("error-priority-not-endorsed"));
    }
    if let Some(workshop) = workshop {
        let kind = format!("{level}_workshop");
        let matches = sqlx::query_scalar!(
            r#"select exists(select 1 from activities where id = $1 and kind = $2) as "exists!""#,
            workshop,
            kind
        )
        .fetch_one(&mut *tx)
        .await?;
        if !matches {
            return Err(AppError::Refused("error-priority-workshop"));
        }
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
    // Back to the page the form was on, never to another site.
    let back = if form.back.starts_with('/') && !form.back.starts_with("//") {
        form.back
    } else {
        "/recommendations/national".into()
    };
    Ok((StatusCode::SEE_OTHER, Redirect::to(&back)).into_response())
}
