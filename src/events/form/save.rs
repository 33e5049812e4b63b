//! Saving an event: created once per form (`once`), updated only at the
//! version it was loaded at, and its partners and counts written with it in
//! one transaction, the totals derived by the database.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::{EventForm, FormPage, ValidEvent, choices, stored_form};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::web::forms::{FieldErrors, Form};
use crate::web::versioned::{self, Version};
use crate::web::{Actor, Ctx, flash, once};
use sqlx::PgPool;

fn event_entry(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    title: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "event",
        entity_id: Some(id.to_string()),
        summary: title.to_owned(),
        ip,
    }
}

pub(in crate::events) async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<EventForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let choices = choices(&pool, &form.district_code).await?;
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                event_id: None,
                form,
                errors,
                choices,
                theirs: None,
            };
            return Err(AppError::invalid(&page));
        }
    };
    let once_key = once::key(&form.once_key);
    once::write_once(&pool, &session, (once_key, user.id), "saved", async |tx| {
        let id = sqlx::query_scalar!(
            "insert into events (kind, level, title_en, title_km, starts_on, ends_on, province_code,
                                 district_code, commune_code, venue, summary_en, summary_km,
                                 organizer_id, project_id, agreement_id, created_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             returning id",
            valid.kind,
            valid.level,
            valid.title_en,
            valid.title_km,
            valid.starts_on,
            valid.ends_on,
            valid.province_code,
            valid.district_code,
            valid.commune_code,
            valid.venue,
            valid.summary_en,
            valid.summary_km,
            valid.organizer,
            valid.project,
            valid.agreement,
            user.id,
        )
        .fetch_one(&mut *tx)
        .await?;
        save_links(tx, id, &valid).await?;
        audit::record(
            &mut *tx,
            event_entry(&user, "event_created", id, &valid.title_en, ip),
        )
        .await?;
        Ok(format!("/events/{id}"))
    })
    .await
}

/// The partners and counts as the form gave them, and the totals derived.
async fn save_links(
    tx: &mut sqlx::PgConnection,
    id: i64,
    valid: &ValidEvent,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "with gone as (delete from event_partners where event_id = $1)
         insert into event_partners (event_id, organization_id) select $1, unnest($2::bigint[])",
        id,
        &valid.partners,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from event_participants where event_id = $1", id)
        .execute(&mut *tx)
        .await?;
    let (kinds, sexes, counts) = &valid.counts;
    sqlx::query!(
        "insert into event_participants (event_id, organization_kind, sex, count)
         select $1, * from unnest($2::text[], $3::text[], $4::int[])",
        id,
        kinds,
        sexes,
        counts,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("select refresh_event_participants($1)", id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub(in crate::events) async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<EventForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    stored_form(&pool, id).await?;
    let choices = choices(&pool, &form.district_code).await?;
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                event_id: Some(id),
                form,
                errors,
                choices,
                theirs: None,
            };
            return Err(AppError::invalid(&page));
        }
    };
    let expected = Version::parse(&form.version)?;
    let mut tx = pool.begin().await?;
    let updated = sqlx::query!(
        "update events set kind = $1, level = $2, title_en = $3, title_km = $4, starts_on = $5,
                           ends_on = $6, province_code = $7, district_code = $8, commune_code = $9,
                           venue = $10, summary_en = $11, summary_km = $12, organizer_id = $13,
                           project_id = $14, agreement_id = $15, version = version + 1, updated_at = now()
         where id = $16 and version = $17",
        valid.kind,
        valid.level,
        valid.title_en,
        valid.title_km,
        valid.starts_on,
        valid.ends_on,
        valid.province_code,
        valid.district_code,
        valid.commune_code,
        valid.venue,
        valid.summary_en,
        valid.summary_km,
        valid.organizer,
        valid.project,
        valid.agreement,
        id,
        expected.number(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        drop(tx);
        let current = stored_form(&pool, id).await?;
        let (form, theirs) = versioned::conflict(&ctx, &current, form);
        let page = FormPage {
            ctx,
            event_id: Some(id),
            form,
            errors: FieldErrors::default(),
            choices,
            theirs: Some(theirs),
        };
        return Err(AppError::stale(&page));
    }
    save_links(&mut tx, id, &valid).await?;
    audit::record(
        &mut *tx,
        event_entry(&user, "event_updated", id, &valid.title_en, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/events/{id}")).into_response())
}
