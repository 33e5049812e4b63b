//! Creating and editing a project: the secretariat only. A form sent twice
//! creates one project (`web::once`); an edit over someone else's is refused
//! with both versions shown (`web::versioned`).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use super::choices::{self, Choice, DistrictChoice};
use super::{CURRENCIES, STATUSES};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError};
use crate::web::Ctx;
use crate::web::forms::{self, FieldErrors};
use crate::web::versioned::{Field, VersionedForm};

mod save;
pub(super) use save::{create, update};

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

impl VersionedForm for ProjectForm {
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

    fn at_version_of(self, stored: &Self) -> Self {
        ProjectForm {
            version: stored.version.clone(),
            ..self
        }
    }
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
