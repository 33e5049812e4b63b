//! Creating and editing an agreement (the secretariat). A new agreement is a
//! draft; its status moves on its page (`status`).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use super::KINDS;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError};
use crate::projects::choices::{self, Choice};
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{self, Field, Version, VersionedForm};
use crate::web::{Actor, Ctx, flash, once};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AgreementForm {
    kind: String,
    title_en: String,
    title_km: String,
    project: String,
    parties: Vec<String>,
    provinces: Vec<String>,
    signed_on: String,
    valid_until: String,
    version: String,
    once_key: String,
}

struct ValidAgreement {
    kind: String,
    title_en: String,
    title_km: String,
    project: Option<i64>,
    parties: Vec<i64>,
    provinces: Vec<String>,
    signed_on: Option<Date>,
    valid_until: Option<Date>,
}

pub struct Choices {
    pub organizations: Vec<Choice<i64>>,
    pub provinces: Vec<Choice<String>>,
    pub projects: Vec<Choice<i64>>,
}

async fn choices(pool: &PgPool) -> Result<Choices, AppError> {
    Ok(Choices {
        organizations: choices::organizations(pool).await?,
        provinces: choices::provinces(pool).await?,
        projects: choices::projects(pool).await?,
    })
}

/// An optional date field: empty is none.
fn optional_date(errors: &mut FieldErrors, field: &'static str, value: &str) -> Option<Date> {
    (!value.trim().is_empty())
        .then(|| forms::date(errors, field, value))
        .flatten()
}

impl VersionedForm for AgreementForm {
    fn labelled(&self, ctx: &Ctx) -> Vec<Field> {
        let sorted = |values: &[String]| {
            let mut values = values.to_vec();
            values.sort();
            values.join(", ")
        };
        [
            ("field-kind", self.kind.clone()),
            ("field-title-en", self.title_en.trim().to_owned()),
            ("field-title-km", self.title_km.trim().to_owned()),
            ("field-project", self.project.clone()),
            ("agreement-parties", sorted(&self.parties)),
            ("field-provinces", sorted(&self.provinces)),
            ("agreement-signed-on", self.signed_on.clone()),
            ("agreement-valid-until", self.valid_until.clone()),
        ]
        .map(|(key, value)| (ctx.t(key), value))
        .to_vec()
    }

    fn at_version_of(self, stored: &Self) -> Self {
        AgreementForm {
            version: stored.version.clone(),
            ..self
        }
    }
}

impl AgreementForm {
    pub fn ticked(&self, field: &str, value: impl ToString) -> bool {
        let sent = if field == "parties" {
            &self.parties
        } else {
            &self.provinces
        };
        choices::ticked(sent, value)
    }

    fn parse(&self, choices: &Choices) -> Result<ValidAgreement, FieldErrors> {
        let mut errors = FieldErrors::default();
        if !KINDS.contains(&self.kind.as_str()) {
            errors.add("kind", "error-choose");
        }
        let title_en = forms::required_text(&mut errors, "title_en", &self.title_en, 300);
        let title_km = forms::optional_text(&mut errors, "title_km", &self.title_km, 300);
        let project =
            choices::optional_id(&mut errors, "project", &self.project, &choices.projects);
        let parties = choices::ids(
            &mut errors,
            "parties",
            &self.parties,
            &choices.organizations,
        );
        if parties.is_empty() && errors.get("parties").is_none() {
            errors.add("parties", "error-agreement-parties");
        }
        let provinces = choices::codes(
            &mut errors,
            "provinces",
            &self.provinces,
            choices.provinces.iter().map(|choice| choice.key.as_str()),
        );
        let signed_on = optional_date(&mut errors, "signed_on", &self.signed_on);
        let valid_until = optional_date(&mut errors, "valid_until", &self.valid_until);
        if let (Some(signed), Some(until)) = (signed_on, valid_until)
            && until < signed
        {
            errors.add("valid_until", "error-end-before-start");
        }
        errors.into_result(ValidAgreement {
            kind: self.kind.clone(),
            title_en,
            title_km,
            project,
            parties,
            provinces,
            signed_on,
            valid_until,
        })
    }
}

#[derive(Template)]
#[template(path = "agreements/form.html")]
struct FormPage {
    ctx: Ctx,
    agreement_id: Option<i64>,
    form: AgreementForm,
    errors: FieldErrors,
    choices: Choices,
    theirs: Option<Vec<Field>>,
}

pub(super) async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let page = FormPage {
        ctx,
        agreement_id: None,
        form: AgreementForm {
            kind: "mou".into(),
            parties: vec![user.organization_id.to_string()],
            ..AgreementForm::default()
        },
        errors: FieldErrors::default(),
        choices: choices(&pool).await?,
        theirs: None,
    };
    page.answer()
}

fn agreement_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    title: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "agreement",
        entity_id: Some(id.to_string()),
        summary: title.to_owned(),
        ip,
    }
}

pub(super) async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<AgreementForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let choices = choices(&pool).await?;
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                agreement_id: None,
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
            "insert into agreements (kind, title_en, title_km, project_id, signed_on, valid_until)
             values ($1, $2, $3, $4, $5, $6) returning id",
            valid.kind,
            valid.title_en,
            valid.title_km,
            valid.project,
            valid.signed_on,
            valid.valid_until,
        )
        .fetch_one(&mut *tx)
        .await?;
        save_links(tx, id, &valid).await?;
        audit::record(
            &mut *tx,
            agreement_event(&user, "agreement_created", id, &valid.title_en, ip),
        )
        .await?;
        Ok(format!("/agreements/{id}"))
    })
    .await
}

async fn save_links(
    tx: &mut sqlx::PgConnection,
    id: i64,
    valid: &ValidAgreement,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "with gone as (delete from agreement_parties where agreement_id = $1)
         insert into agreement_parties (agreement_id, organization_id) select $1, unnest($2::bigint[])",
        id,
        &valid.parties,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "with gone as (delete from agreement_provinces where agreement_id = $1)
         insert into agreement_provinces (agreement_id, province_code) select $1, unnest($2::text[])",
        id,
        &valid.provinces,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn stored_form(pool: &PgPool, id: i64) -> Result<AgreementForm, AppError> {
    let row = sqlx::query!(
        r#"select kind, title_en, title_km, project_id, signed_on, valid_until, version,
                  array(select organization_id::text from agreement_parties where agreement_id = a.id) as "parties!",
                  array(select province_code from agreement_provinces where agreement_id = a.id) as "provinces!"
           from agreements a where id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let text = |date: Option<Date>| date.map(|date| date.to_string()).unwrap_or_default();
    Ok(AgreementForm {
        kind: row.kind,
        title_en: row.title_en,
        title_km: row.title_km,
        project: row.project_id.map(|id| id.to_string()).unwrap_or_default(),
        parties: row.parties,
        provinces: row.provinces,
        signed_on: text(row.signed_on),
        valid_until: text(row.valid_until),
        version: row.version.to_string(),
        once_key: String::new(),
    })
}

pub(super) async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let page = FormPage {
        ctx,
        agreement_id: Some(id),
        form: stored_form(&pool, id).await?,
        errors: FieldErrors::default(),
        choices: choices(&pool).await?,
        theirs: None,
    };
    page.answer()
}

pub(super) async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<AgreementForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageProgrammes, Scope::Anything)?;
    let stored = stored_form(&pool, id).await?;
    let choices = choices(&pool).await?;
    let mut parsed = form.parse(&choices);
    // A signed agreement keeps a day of signing.
    if let Ok(valid) = &parsed
        && valid.signed_on.is_none()
        && !stored.signed_on.is_empty()
    {
        let mut errors = FieldErrors::default();
        errors.add("signed_on", "error-required");
        parsed = Err(errors);
    }
    let valid = match parsed {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                agreement_id: Some(id),
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
        "update agreements set kind = $1, title_en = $2, title_km = $3, project_id = $4, signed_on = $5,
                               valid_until = $6, version = version + 1
         where id = $7 and version = $8",
        valid.kind,
        valid.title_en,
        valid.title_km,
        valid.project,
        valid.signed_on,
        valid.valid_until,
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
            agreement_id: Some(id),
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
        agreement_event(&user, "agreement_updated", id, &valid.title_en, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/agreements/{id}")).into_response())
}
