//! Deleting a draft activity: its writers may, while no published case study
//! holds it and no other record refers to it (a list's consultation, a
//! workshop's priorities, a plan's meeting, a recommendation's evidence).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::app::AppState;
use crate::attachments::remove;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::web::{ClientIp, flash};

pub async fn delete(
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let activity = sqlx::query!(
        r#"select a.district_code, coalesce(c.status in ('published', 'archived'), false) as "published!"
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
    let deleted = sqlx::query_scalar!(
        "delete from activities a where a.id = $1
           and not exists (select 1 from recommendation_lists l where l.consultation_id = a.id)
           and not exists (select 1 from priorities p where p.workshop_id = a.id)
           and not exists (select 1 from action_plans p where p.meeting_id = a.id)
           and not exists (select 1 from recommendation_evidence e join findings f on f.id = e.finding_id
                           where f.activity_id = a.id)
         returning a.id",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if deleted.is_none() {
        return Err(AppError::Refused("activity-in-use"));
    }
    sqlx::query!(
        "delete from revisions where (entity = 'activity' and entity_id = $1)
            or (entity = 'finding' and entity_id not in (select id from findings))",
        id
    )
    .execute(&mut *tx)
    .await?;
    let files = remove::forget(&mut tx, "activity", id).await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: "activity_deleted",
            entity: "activity",
            entity_id: Some(id.to_string()),
            summary: format!("district {}", activity.district_code),
            ip,
        },
    )
    .await?;
    tx.commit().await?;
    remove::remove_files(&state.files, files).await;
    flash(&session, "activity-deleted", "").await?;
    Ok(Redirect::to("/activities").into_response())
}
