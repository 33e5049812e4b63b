//! Deleting a draft activity: its writers may, while no published case study
//! holds it and no other record refers to it (a list's consultation, a
//! workshop's priorities, a plan's meeting, a recommendation's evidence). It
//! goes to the bin with its counts, findings, files and history.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::deleted::{self, Kind};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{Actor, flash};

pub async fn delete(
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let activity = sqlx::query!(
        r#"select a.district_code, coalesce(case_study_published(c.status), false) as "published!"
           from activities a left join case_studies c on c.id = a.case_study_id where a.id = $1"#,
        id
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require(
        &user,
        Action::RecordActivity,
        Scope::District(&activity.district_code),
    )?;
    if activity.published {
        return Err(AppError::IllegalTransition);
    }
    let mut tx = state.pool.begin().await?;
    // Locked, so that nothing comes to refer to it while it goes.
    let free = sqlx::query_scalar!(
        r#"select not exists (select 1 from recommendation_lists l where l.consultation_id = a.id)
              and not exists (select 1 from priorities p where p.workshop_id = a.id)
              and not exists (select 1 from action_plans p where p.meeting_id = a.id)
              and not exists (select 1 from recommendation_evidence e join findings f on f.id = e.finding_id
                              where f.activity_id = a.id) as "free!"
           from activities a where a.id = $1 for update"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if !free {
        return Err(AppError::Refused("activity-in-use"));
    }
    deleted::put(
        &mut tx,
        (Kind::Activity, id),
        (&user, &activity.district_code),
        ("activity_deleted", ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "activity-deleted", "").await?;
    Ok(Redirect::to("/activities").into_response())
}
