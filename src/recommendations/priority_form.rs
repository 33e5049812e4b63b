//! Setting a recommendation's priority: its form, the rank refused when
//! another recommendation of the study holds it, and the stale form refused.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use super::priorities::{PriorityRow, WorkshopChoice, rows, workshops};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::error::AppError;
use crate::web::forms::{FieldErrors, Form};
use crate::web::{Actor, Ctx, flash};

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
