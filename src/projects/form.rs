//! Creating and editing a project: the secretariat only. A form sent twice
//! creates one project (`web::once`); an edit over someone else's is refused
//! with both versions shown (`web::versioned`).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use super::choices::{self, Choice, DistrictChoice};
use super::{CURRENCIES, STATUSES};
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError};
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{self, Field, Version};
use crate::web::{Actor, Ctx, flash, once};

/// The form as sent; repeated fields are the ticked boxes and chosen options.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProjectForm {
    title_en: String,
    title_km: String,
    lead: String,
    funders: Vec<String>,
    partners: Vec<String>,
    starts_on: String,
    ends_on: String,
    budget: String,
    currency: String,
    status: String,
    provinces: Vec<String>,
    districts: Vec<String>,
    studies: Vec<String>,
    published: Option<String>,
    version: String,
    once_key: String,
}

struct ValidProject {
    title_en: String,
    title_km: String,
    lead: i64,
    funders: Vec<i64>,
    partners: Vec<i64>,
    starts_on: Date,
    ends_on: Date,
    budget: Option<i64>,
    currency: String,
    status: String,
    provinces: Vec<String>,
    districts: Vec<String>,
    studies: Vec<i64>,
    published: bool,
}

/// What the form offers.
pub struct Choices {
    pub organizations: Vec<Choice<i64>>,
    pub provinces: Vec<Choice<String>>,
    pub districts: Vec<DistrictChoice>,
    pub studies: Vec<Choice<i64>>,
}

async fn choices(pool: &PgPool) -> Result<Choices, AppError> {
    let studies = sqlx::query!(
        "select id, title_en, title_km from studies order by period_start desc, id desc"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| Choice {
        key: row.id,
        en: row.title_en,
        km: row.title_km,
    })
    .collect();
    Ok(Choices {
        organizations: choices::organizations(pool).await?,
        provinces: choices::provinces(pool).await?,
        districts: choices::districts(pool).await?,
        studies,
    })
}

impl ProjectForm {
    pub fn ticked(&self, field: &str, value: impl ToString) -> bool {
        let sent = match field {
            "funders" => &self.funders,
            "partners" => &self.partners,
            "provinces" => &self.provinces,
            "districts" => &self.districts,
            _ => &self.studies,
        };
        choices::ticked(sent, value)
    }

    pub fn is_published(&self) -> bool {
        self.published.is_some()
    }

    fn parse(&self, choices: &Choices) -> Result<ValidProject, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title_en = forms::required_text(&mut errors, "title_en", &self.title_en, 300);
        let title_km = forms::optional_text(&mut errors, "title_km", &self.title_km, 300);
        let lead = choices::optional_id(&mut errors, "lead", &self.lead, &choices.organizations);
        if lead.is_none() && errors.get("lead").is_none() {
            errors.add("lead", "error-required");
        }
        let funders = choices::ids(
            &mut errors,
            "funders",
            &self.funders,
            &choices.organizations,
        );
        let partners = choices::ids(
            &mut errors,
            "partners",
            &self.partners,
            &choices.organizations,
        );
        let starts_on = forms::date(&mut errors, "starts_on", &self.starts_on);
        let ends_on = forms::date(&mut errors, "ends_on", &self.ends_on);
        if let (Some(start), Some(end)) = (starts_on, ends_on)
            && end < start
        {
            errors.add("ends_on", "error-end-before-start");
        }
        let budget = match self.budget.trim() {
            "" => None,
            text => {
                let amount = forms::riel(text);
                if amount.is_none() {
                    errors.add("budget", "error-amount");
                }
                amount
            }
        };
        if !CURRENCIES.contains(&self.currency.as_str()) {
            errors.add("currency", "error-choose");
        }
        if !STATUSES.contains(&self.status.as_str()) {
            errors.add("status", "error-choose");
        }
        let provinces = choices::codes(
            &mut errors,
            "provinces",
            &self.provinces,
            choices.provinces.iter().map(|choice| choice.key.as_str()),
        );
        let districts = choices::codes(
            &mut errors,
            "districts",
            &self.districts,
            choices.districts.iter().map(|choice| choice.code.as_str()),
        );
        let studies = choices::ids(&mut errors, "studies", &self.studies, &choices.studies);
        match (lead, starts_on, ends_on) {
            (Some(lead), Some(starts_on), Some(ends_on)) if errors.is_empty() => Ok(ValidProject {
                title_en,
                title_km,
                lead,
                funders,
                partners,
                starts_on,
                ends_on,
                budget,
                currency: self.currency.clone(),
                status: self.status.clone(),
                provinces,
                districts,
                studies,
                published: self.is_published(),
            }),
            _ => Err(errors),
        }
    }

    /// The form's values as the conflict box names them.
    fn labelled(&self, ctx: &Ctx) -> Vec<Field> {
        let sorted = |values: &[String]| {
            let mut values = values.to_vec();
            values.sort();
            values.join(", ")
        };
        [
            ("field-title-en", self.title_en.trim().to_owned()),
            ("field-title-km", self.title_km.trim().to_owned()),
            ("project-lead", self.lead.clone()),
            ("field-funders", sorted(&self.funders)),
            ("project-partners", sorted(&self.partners)),
            ("field-period-start", self.starts_on.clone()),
            ("field-period-end", self.ends_on.clone()),
            ("project-budget", self.budget.trim().to_owned()),
            ("project-currency", self.currency.clone()),
            ("field-status", self.status.clone()),
            ("field-provinces", sorted(&self.provinces)),
            ("field-districts", sorted(&self.districts)),
            ("nav-studies", sorted(&self.studies)),
        ]
        .map(|(key, value)| (ctx.t(key), value))
        .to_vec()
    }
}

#[derive(Template)]
#[template(path = "projects/form.html")]
struct FormPage {
    ctx: Ctx,
    project_id: Option<i64>,
    form: ProjectForm,
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
    let form = ProjectForm {
        lead: user.organization_id.to_string(),
        currency: "USD".into(),
        status: "planned".into(),
        ..ProjectForm::default()
    };
    let page = FormPage {
        ctx,
        project_id: None,
        form,
        errors: FieldErrors::default(),
        choices: choices(&pool).await?,
        theirs: None,
    };
    page.answer()
}

pub(super) async fn create(
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

async fn stored_form(pool: &PgPool, id: i64) -> Result<ProjectForm, AppError> {
    let row = sqlx::query!(
        r#"select title_en, title_km, lead_organization_id, starts_on, ends_on, budget, currency,
                  status, published, version,
                  array(select organization_id::text from project_organizations where project_id = p.id and role = 'funder') as "funders!",
                  array(select organization_id::text from project_organizations where project_id = p.id and role = 'partner') as "partners!",
                  array(select province_code from project_provinces where project_id = p.id) as "provinces!",
                  array(select district_code from project_districts where project_id = p.id) as "districts!",
                  array(select id::text from studies where project_id = p.id) as "studies!"
           from projects p where id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(ProjectForm {
        title_en: row.title_en,
        title_km: row.title_km,
        lead: row.lead_organization_id.to_string(),
        funders: row.funders,
        partners: row.partners,
        starts_on: row.starts_on.to_string(),
        ends_on: row.ends_on.to_string(),
        budget: row
            .budget
            .map(|amount| amount.to_string())
            .unwrap_or_default(),
        currency: row.currency,
        status: row.status,
        provinces: row.provinces,
        districts: row.districts,
        studies: row.studies,
        published: row.published.then(|| "on".to_owned()),
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
        project_id: Some(id),
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
        let theirs = versioned::changed_since(current.labelled(&ctx), &form.labelled(&ctx));
        let page = FormPage {
            ctx,
            project_id: Some(id),
            form: ProjectForm {
                version: current.version,
                ..form
            },
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
