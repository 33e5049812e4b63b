//! `POST /studies/{id}/public`: the secretariat turns a study's public pages
//! (`/public/studies/{id}`) and open data on or off, under a licence. Off by
//! default; every change is audited. Sending the same choice twice (a stale
//! form) changes nothing.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use crate::audit;
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::forms::Form;
use crate::web::{Actor, Ctx, flash};

/// The licences the open data may be published under.
pub const LICENCES: [&str; 3] = ["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0"];

/// The publishing form as the study page shows it.
pub struct Public {
    pub since: Option<time::OffsetDateTime>,
    pub licence: String,
    pub refused: Option<Refused>,
}

/// A publishing form sent back: what was chosen, and the message key.
pub struct Refused {
    pub licence: String,
    pub error: &'static str,
}

impl Public {
    pub async fn of(
        pool: &PgPool,
        study: i64,
        refused: Option<Refused>,
    ) -> Result<Public, AppError> {
        let row = sqlx::query!(
            "select public_since, licence from studies where id = $1",
            study
        )
        .fetch_one(pool)
        .await?;
        Ok(Public {
            since: row.public_since,
            licence: refused
                .as_ref()
                .map_or(row.licence, |refused| refused.licence.clone()),
            refused,
        })
    }

    pub fn since_text(&self) -> String {
        self.since.map(crate::format::timestamp).unwrap_or_default()
    }
}

/// The form that turns a study's public pages on or off.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublicForm {
    public: String,
    licence: String,
}

pub async fn set_public(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<PublicForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    let (turn_on, licence) = (form.public.trim(), form.licence.trim().to_owned());
    let error = match turn_on {
        _ if !LICENCES.contains(&licence.as_str()) => Some("public-licence-unknown"),
        "on" | "off" => None,
        _ => Some("public-choice-unknown"),
    };
    if let Some(error) = error {
        let refused = super::publishing::Refused { licence, error };
        return super::show_page(ctx, &user, &state, id, Some(refused)).await;
    }
    let turn_on = turn_on == "on";
    let mut tx = state.pool.begin().await?;
    let was_on = sqlx::query_scalar!(
        r#"select public_since is not null as "on!" from studies where id = $1 for update"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    sqlx::query!(
        "update studies
         set public_since = case when $2 then coalesce(public_since, now()) end, licence = $3
         where id = $1",
        id,
        turn_on,
        licence
    )
    .execute(&mut *tx)
    .await?;
    // The study's exact totals are published the first time its pages are on,
    // and stay as they were published (migration 0014).
    if turn_on {
        sqlx::query!("select publish_headline($1)", id)
            .execute(&mut *tx)
            .await?;
    }
    if was_on != turn_on {
        let action = if turn_on {
            "study_public_on"
        } else {
            "study_public_off"
        };
        let event = super::study_event(&user, action, id, &licence, ip);
        audit::record(&mut *tx, event).await?;
    }
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/studies/{id}")).into_response())
}
