//! Saving a project: created once per form (`once`), updated only at the
//! version it was loaded at, with its funders, partners and places written in
//! the same transaction.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;

use super::{FormPage, ProjectForm, ValidProject, choices, stored_form};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::web::forms::{FieldErrors, Form};
use crate::web::versioned::{self, Version};
use crate::web::{Actor, Ctx, flash, once};

pub(in crate::projects) async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<ProjectForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let choices = choices(&pool).await?;
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                project_id: None,
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
            "insert into projects (title_en, title_km, lead_organization_id, starts_on, ends_on,
                                   budget, currency, status, published)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
            valid.title_en,
            valid.title_km,
            valid.lead,
            valid.starts_on,
            valid.ends_on,
            valid.budget,
            valid.currency,
            valid.status,
            valid.published,
        )
        .fetch_one(&mut *tx)
        .await?;
        save_links(tx, id, &valid).await?;
        audit::record(
            &mut *tx,
            project_event(&user, "project_created", id, &valid.title_en, ip),
        )
        .await?;
        Ok(format!("/projects/{id}"))
    })
    .await
}

fn project_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    title: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "project",
        entity_id: Some(id.to_string()),
        summary: title.to_owned(),
        ip,
    }
}

/// The project's organizations, places and studies, as the form gave them.
async fn save_links(
    tx: &mut sqlx::PgConnection,
    id: i64,
    valid: &ValidProject,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "with gone as (delete from project_organizations where project_id = $1)
         insert into project_organizations (project_id, role, organization_id)
         select $1, 'funder', unnest($2::bigint[])
         union select $1, 'partner', unnest($3::bigint[])",
        id,
        &valid.funders,
        &valid.partners,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "with gone as (delete from project_provinces where project_id = $1)
         insert into project_provinces (project_id, province_code) select $1, unnest($2::text[])",
        id,
        &valid.provinces,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "with gone as (delete from project_districts where project_id = $1)
         insert into project_districts (project_id, district_code) select $1, unnest($2::text[])",
        id,
        &valid.districts,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update studies set project_id = case when id = any($2) then $1 end
         where project_id = $1 or id = any($2)",
        id,
        &valid.studies,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(in crate::projects) async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<ProjectForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    stored_form(&pool, id).await?;
    let choices = choices(&pool).await?;
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                project_id: Some(id),
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
        "update projects set title_en = $1, title_km = $2, lead_organization_id = $3, starts_on = $4,
                             ends_on = $5, budget = $6, currency = $7, status = $8, published = $9,
                             version = version + 1
         where id = $10 and version = $11",
        valid.title_en,
        valid.title_km,
        valid.lead,
        valid.starts_on,
        valid.ends_on,
        valid.budget,
        valid.currency,
        valid.status,
        valid.published,
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
            project_id: Some(id),
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
        project_event(&user, "project_updated", id, &valid.title_en, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/projects/{id}")).into_response())
}
