//! `/studies`: rounds of case-study work ("Civic Engagement at DM level,
//! Battambang province, 2021"), each in one province over a period, with the
//! organizations that fund it. The secretariat creates and edits them; everyone
//! signed in reads them.

mod print;
mod publishing;
pub mod report;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError, render};
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{self, Field, Version, VersionedForm};
use crate::web::{Actor, Ctx, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/studies", get(list).post(create))
        .route("/studies/new", get(new_form))
        .route("/studies/{id}", get(show).post(update))
        .route("/studies/{id}/edit", get(edit_form))
        .route("/studies/{id}/print", get(print::print))
        .route("/studies/{id}/public", post(publishing::set_public))
}

pub struct StudyRow {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub province_en: String,
    pub province_km: String,
    pub period_start: Date,
    pub period_end: Date,
    pub case_studies: i64,
    pub activities: i64,
}

#[derive(Template)]
#[template(path = "studies/list.html")]
struct ListPage {
    ctx: Ctx,
    studies: Vec<StudyRow>,
    can_create: bool,
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    let studies = sqlx::query_as!(
        StudyRow,
        r#"select s.id, s.title_en, s.title_km, p.name_en as province_en, p.name_km as province_km,
                  s.period_start, s.period_end,
                  (select count(*) from case_studies c where c.study_id = s.id) as "case_studies!",
                  (select count(*) from activities a where a.study_id = s.id) as "activities!"
           from studies s join provinces p on p.code = s.province_code
           order by s.period_start desc, s.id desc"#
    )
    .fetch_all(&pool)
    .await?;
    let can_create = policy::allows(&user, Action::ManageStudies, Scope::Anything);
    Ok(render(&ListPage {
        ctx,
        studies,
        can_create,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "studies/show.html")]
struct ShowPage {
    ctx: Ctx,
    study: StudyRow,
    funders: Vec<String>,
    report: report::Report,
    can_edit: bool,
    public: publishing::Public,
}

/// `/studies/{id}`: the study's report.
async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    show_page(ctx, &user, &state, id, None).await
}

/// The study's page; `publishing` is the publishing form sent back with the
/// reason it was refused.
async fn show_page(
    ctx: Ctx,
    user: &CurrentUser,
    state: &AppState,
    id: i64,
    publishing: Option<publishing::Refused>,
) -> Result<Response, AppError> {
    let pool = state.pool.clone();
    let row = sqlx::query!(
        r#"select s.id, s.title_en, s.title_km, p.name_en as province_en, p.name_km as province_km,
                  s.period_start, s.period_end,
                  (select count(*) from case_studies c where c.study_id = s.id) as "case_studies!",
                  (select count(*) from activities a where a.study_id = s.id) as "activities!",
                  array(select o.name_en from study_funders f join organizations o on o.id = f.organization_id
                        where f.study_id = s.id order by o.name_en) as "funders!"
           from studies s join provinces p on p.code = s.province_code
           where s.id = $1"#,
        id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let funders = row.funders;
    let study = StudyRow {
        id: row.id,
        title_en: row.title_en,
        title_km: row.title_km,
        province_en: row.province_en,
        province_km: row.province_km,
        period_start: row.period_start,
        period_end: row.period_end,
        case_studies: row.case_studies,
        activities: row.activities,
    };
    let report = report::load(state, user, id).await?;
    let can_edit = policy::allows(user, Action::ManageStudies, Scope::Anything);
    let public = publishing::Public::of(&pool, id, publishing).await?;
    let refused = public.refused.is_some();
    let page = ShowPage {
        ctx,
        study,
        funders,
        report,
        can_edit,
        public,
    };
    if refused {
        return Err(AppError::invalid(&page));
    }
    render(&page).map(IntoResponse::into_response)
}

/// The study form as sent; funders come as repeated `funders` fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StudyForm {
    title_en: String,
    title_km: String,
    province_code: String,
    period_start: String,
    period_end: String,
    funders: Vec<String>,
    version: String,
}

impl VersionedForm for StudyForm {
    fn labelled(&self, ctx: &Ctx) -> Vec<Field> {
        let mut funders = self.funders.clone();
        funders.sort();
        [
            ("field-title-en", self.title_en.trim().to_owned()),
            ("field-title-km", self.title_km.trim().to_owned()),
            ("field-province", self.province_code.clone()),
            ("field-period-start", self.period_start.clone()),
            ("field-period-end", self.period_end.clone()),
            ("field-funders", funders.join(", ")),
        ]
        .map(|(key, value)| (ctx.t(key), value))
        .to_vec()
    }

    fn at_version_of(self, stored: &Self) -> Self {
        StudyForm {
            version: stored.version.clone(),
            ..self
        }
    }
}

impl StudyForm {
    pub fn funded_by(&self, id: &i64) -> bool {
        self.funders.iter().any(|funder| *funder == id.to_string())
    }

    fn parse(&self, choices: &Choices) -> Result<ValidStudy, FieldErrors> {
        let mut errors = FieldErrors::default();
        let title_en = forms::required_text(&mut errors, "title_en", &self.title_en, 300);
        let title_km = forms::optional_text(&mut errors, "title_km", &self.title_km, 300);
        if !choices
            .provinces
            .iter()
            .any(|(code, _)| *code == self.province_code)
        {
            errors.add("province_code", "error-choose");
        }
        let period_start = forms::date(&mut errors, "period_start", &self.period_start);
        let period_end = forms::date(&mut errors, "period_end", &self.period_end);
        if let (Some(start), Some(end)) = (period_start, period_end)
            && end < start
        {
            errors.add("period_end", "error-end-before-start");
        }
        let mut funders = Vec::new();
        for funder in &self.funders {
            match funder
                .parse::<i64>()
                .ok()
                .filter(|id| choices.funders.iter().any(|(known, _)| known == id))
            {
                Some(id) => funders.push(id),
                None => errors.add("funders", "error-choose"),
            }
        }
        match (period_start, period_end) {
            (Some(period_start), Some(period_end)) if errors.is_empty() => Ok(ValidStudy {
                title_en,
                title_km,
                province_code: self.province_code.clone(),
                period_start,
                period_end,
                funders,
            }),
            _ => Err(errors),
        }
    }
}

struct ValidStudy {
    title_en: String,
    title_km: String,
    province_code: String,
    period_start: Date,
    period_end: Date,
    funders: Vec<i64>,
}

/// What the form offers: provinces, and organizations that can fund.
pub struct Choices {
    pub provinces: Vec<(String, String)>,
    pub funders: Vec<(i64, String)>,
}

async fn choices(pool: &PgPool) -> Result<Choices, AppError> {
    let provinces = sqlx::query!("select code, name_en from provinces order by code")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| (row.code, row.name_en))
        .collect();
    let funders = sqlx::query!(
        "select id, name_en from organizations where kind in ('donor', 'partner') order by lower(name_en)"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.name_en))
    .collect();
    Ok(Choices { provinces, funders })
}

#[derive(Template)]
#[template(path = "studies/form.html")]
struct FormPage {
    ctx: Ctx,
    study_id: Option<i64>,
    form: StudyForm,
    errors: FieldErrors,
    choices: Choices,
    /// After a stale save: what someone else saved meanwhile.
    theirs: Option<Vec<Field>>,
}

impl FormPage {}

async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    let form = StudyForm {
        province_code: "02".into(),
        ..StudyForm::default()
    };
    let page = FormPage {
        ctx,
        study_id: None,
        form,
        errors: FieldErrors::default(),
        choices: choices(&pool).await?,
        theirs: None,
    };
    page.answer()
}

async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<StudyForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    let choices = choices(&pool).await?;
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                study_id: None,
                form,
                errors,
                choices,
                theirs: None,
            };
            return Err(AppError::invalid(&page));
        }
    };
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into studies (title_en, title_km, province_code, period_start, period_end)
         values ($1, $2, $3, $4, $5) returning id",
        valid.title_en,
        valid.title_km,
        valid.province_code,
        valid.period_start,
        valid.period_end,
    )
    .fetch_one(&mut *tx)
    .await?;
    save_funders(&mut tx, id, &valid.funders).await?;
    audit::record(
        &mut *tx,
        study_event(&user, "study_created", id, &valid.title_en, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/studies/{id}")).into_response())
}

fn study_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    title: &str,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "study",
        entity_id: Some(id.to_string()),
        summary: title.to_owned(),
        ip,
    }
}

async fn save_funders(
    tx: &mut sqlx::PgConnection,
    study_id: i64,
    funders: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from study_funders where study_id = $1", study_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into study_funders (study_id, organization_id)
         select $1, id from unnest($2::bigint[]) as id on conflict do nothing",
        study_id,
        funders,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn stored_form(pool: &PgPool, id: i64) -> Result<StudyForm, AppError> {
    let row = sqlx::query!(
        r#"select title_en, title_km, province_code, period_start, period_end, version,
                  array(select organization_id::text from study_funders where study_id = s.id) as "funders!"
           from studies s where id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(StudyForm {
        title_en: row.title_en,
        title_km: row.title_km,
        province_code: row.province_code,
        period_start: row.period_start.to_string(),
        period_end: row.period_end.to_string(),
        funders: row.funders,
        version: row.version.to_string(),
    })
}

async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    let page = FormPage {
        ctx,
        study_id: Some(id),
        form: stored_form(&pool, id).await?,
        errors: FieldErrors::default(),
        choices: choices(&pool).await?,
        theirs: None,
    };
    page.answer()
}

async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<StudyForm>,
) -> Result<Response, AppError> {
    require(&user, Action::ManageStudies, Scope::Anything)?;
    stored_form(&pool, id).await?;
    let choices = choices(&pool).await?;
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                study_id: Some(id),
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
        "update studies set title_en = $1, title_km = $2, province_code = $3, period_start = $4,
                            period_end = $5, version = version + 1
         where id = $6 and version = $7",
        valid.title_en,
        valid.title_km,
        valid.province_code,
        valid.period_start,
        valid.period_end,
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
            study_id: Some(id),
            form,
            errors: FieldErrors::default(),
            choices,
            theirs: Some(theirs),
        };
        return Err(AppError::stale(&page));
    }
    save_funders(&mut tx, id, &valid.funders).await?;
    audit::record(
        &mut *tx,
        study_event(&user, "study_updated", id, &valid.title_en, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/studies/{id}")).into_response())
}
