//! Which activities a case study draws on, chosen on the case study's own
//! page: its district's activities that no other case study has taken.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use super::Status;
use super::show::{CaseStudyView, LinkedActivity, load};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::forms::Form;
use crate::web::{Actor, Ctx, flash};

/// The district's activities free for this case study, or already its own,
/// with whether each is linked.
pub async fn linkable(
    pool: &PgPool,
    case_study: &CaseStudyView,
) -> Result<Vec<(LinkedActivity, bool)>, AppError> {
    Ok(sqlx::query!(
        r#"select a.id, a.kind, a.held_on, a.case_study_id is not null as "linked!",
                  a.participants as total, a.rounded_participants as rounded_total
           from activities a
           where a.district_code = $1 and (a.case_study_id is null or a.case_study_id = $2)
           order by a.held_on, a.id"#,
        case_study.district_code,
        case_study.id,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| {
        let activity = LinkedActivity {
            id: row.id,
            kind: row.kind,
            held_on: row.held_on,
            total: row.total,
            rounded_total: row.rounded_total,
        };
        (activity, row.linked)
    })
    .collect())
}

/// The activities ticked, and the version of the links the form was drawn at.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinksForm {
    activities: Vec<String>,
    activities_version: String,
}

/// Sets the draft's activities to those checked: the checked ones are linked,
/// the unchecked ones of the offer unlinked. An activity not on offer (another
/// district's, or another case study's) refuses the whole form. A form drawn
/// before the links last changed saves nothing: the page comes back (409) with
/// the choice ticked, beside what is linked now.
pub async fn set_activities(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<LinksForm>,
) -> Result<Response, AppError> {
    let pool = state.pool.clone();
    let case_study = load(&pool, id).await?;
    require(
        &user,
        Action::WriteCaseStudy,
        Scope::District(&case_study.district_code),
    )?;
    let offered: Vec<i64> = linkable(&pool, &case_study)
        .await?
        .into_iter()
        .map(|(activity, _)| activity.id)
        .collect();
    let mut chosen = Vec::new();
    for value in &form.activities {
        match value.parse::<i64>() {
            Ok(activity) if offered.contains(&activity) => chosen.push(activity),
            _ => return Err(AppError::Refused("error-link-activity")),
        }
    }
    let sent_version = form.activities_version.trim().parse::<i32>().ok();
    let mut tx = pool.begin().await?;
    // Locked, so that two saves of the same page cannot both pass the check.
    let current = sqlx::query!(
        r#"select status as "status: Status", activities_version from case_studies where id = $1 for update"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if current.status != Status::Draft {
        return Err(AppError::IllegalTransition);
    }
    if sent_version != Some(current.activities_version) {
        drop(tx);
        let page = super::show::page(ctx, &user, &state, id, Some(chosen)).await?;
        return Err(AppError::stale(&page));
    }
    let changed = sqlx::query_scalar!(
        r#"update activities
           set case_study_id = case when id = any($3) then $1 end, version = version + 1, updated_at = now()
           where id = any($2) and (case_study_id is null or case_study_id = $1)
             and (case_study_id is not distinct from $1) <> (id = any($3))
           returning id"#,
        id,
        &offered,
        &chosen,
    )
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query!(
        "update case_studies set activities_version = activities_version + 1 where id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "case_study_activities_linked",
            entity: "case_study",
            entity_id: Some(id.to_string()),
            summary: format!("linked {chosen:?}; changed {changed:?}"),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/case-studies/{id}#activities")).into_response())
}
