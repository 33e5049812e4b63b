//! `/agreements`: partnership agreements (MoUs, grant agreements, letters of
//! intent…) between the coalition and organizations of any kind, provincial
//! departments and companies among them: the parties, the dates, the
//! provinces, the project, the signed document, and the status
//! `draft → signed → ended | expired`, each step audited. The secretariat
//! manages them and hears 60 and 14 days before one runs out
//! (`notifications::remind_expiring_agreements`); the parties and those who
//! read its project read it.

mod form;
mod status;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use crate::attachments::{self, AttachmentLine};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::projects::choices::{self, Choice};
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::forms::FieldErrors;

pub const KINDS: [&str; 5] = [
    "mou",
    "grant_agreement",
    "letter_of_intent",
    "contract",
    "other",
];
pub const STATUSES: [&str; 4] = ["draft", "signed", "ended", "expired"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agreements", get(list).post(form::create))
        .route("/agreements/new", get(form::new_form))
        .route("/agreements/{id}", get(show).post(form::update))
        .route("/agreements/{id}/edit", get(form::edit_form))
        .route("/agreements/{id}/status", post(status::change))
}

/// An agreement as the list and its page show it.
pub struct AgreementRow {
    pub id: i64,
    pub kind: String,
    pub title_en: String,
    pub title_km: String,
    pub signed_on: Option<Date>,
    pub valid_until: Option<Date>,
    pub status: String,
    pub project_id: Option<i64>,
    pub project_en: Option<String>,
    pub project_km: Option<String>,
    pub parties: Vec<String>,
    pub provinces: Vec<String>,
}

/// The list's filters, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListFilters {
    province: String,
    partner: String,
    status: String,
}

#[derive(Template)]
#[template(path = "agreements/list.html")]
struct ListPage {
    ctx: Ctx,
    filters: ListFilters,
    errors: FieldErrors,
    agreements: Vec<AgreementRow>,
    provinces: Vec<Choice<String>>,
    partners: Vec<Choice<i64>>,
    can_create: bool,
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(filters): Query<ListFilters>,
) -> Result<Response, AppError> {
    let provinces = choices::provinces(&pool).await?;
    let partners = choices::organizations(&pool).await?;
    let mut errors = FieldErrors::default();
    let province = choices::codes(
        &mut errors,
        "province",
        std::slice::from_ref(&filters.province),
        provinces.iter().map(|choice| choice.key.as_str()),
    );
    let partner = choices::optional_id(&mut errors, "partner", &filters.partner, &partners);
    if !filters.status.is_empty() && !STATUSES.contains(&filters.status.as_str()) {
        errors.add("status", "error-choose");
    }
    let can_create = policy::allows(&user, Action::ManageProgrammes, Scope::Anything);
    if !errors.is_empty() {
        let page = ListPage {
            ctx,
            filters,
            errors,
            agreements: Vec::new(),
            provinces,
            partners,
            can_create,
        };
        return Err(AppError::invalid(&page));
    }
    let agreements = sqlx::query_as!(
        AgreementRow,
        r#"select a.id, a.kind, a.title_en, a.title_km, a.signed_on, a.valid_until, a.status,
                  a.project_id, p.title_en as "project_en?", p.title_km as "project_km?",
                  array(select o.name_en from agreement_parties ap join organizations o on o.id = ap.organization_id
                        where ap.agreement_id = a.id order by o.name_en) as "parties!",
                  array(select v.name_en from agreement_provinces av join provinces v on v.code = av.province_code
                        where av.agreement_id = a.id order by v.code) as "provinces!"
           from agreements a left join projects p on p.id = a.project_id
           where ($1 or coalesce(p.published, false) or takes_part_in_agreement(a.id, $2))
             and ($3::text is null or exists (select 1 from agreement_provinces av
                                              where av.agreement_id = a.id and av.province_code = $3))
             and ($4::bigint is null or exists (select 1 from agreement_parties ap
                                                where ap.agreement_id = a.id and ap.organization_id = $4))
             and ($5 = '' or a.status = $5)
           order by a.signed_on desc nulls first, a.id desc"#,
        policy::reads_every_programme(&user),
        user.organization_id,
        province.first(),
        partner,
        filters.status,
    )
    .fetch_all(&pool)
    .await?;
    let page = ListPage {
        ctx,
        filters,
        errors,
        agreements,
        provinces,
        partners,
        can_create,
    };
    Ok(render(&page)?.into_response())
}

/// May `user` read agreement `id`? Refused as a project is (`projects::readable`).
async fn readable(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<(), AppError> {
    let row = sqlx::query!(
        r#"select coalesce(p.published, false) as "published!",
                  takes_part_in_agreement(a.id, $2) as "takes_part!"
           from agreements a left join projects p on p.id = a.project_id where a.id = $1"#,
        id,
        user.organization_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require(
        user,
        Action::ReadProgramme,
        Scope::Programme {
            takes_part: row.takes_part,
            published: row.published,
        },
    )
}

/// A step in the agreement's history, from the audit log.
pub struct Step {
    pub at: time::OffsetDateTime,
    pub action: String,
    pub by: Option<String>,
}

#[derive(Template)]
#[template(path = "agreements/show.html")]
struct ShowPage {
    ctx: Ctx,
    agreement: AgreementRow,
    steps: Vec<Step>,
    attachments: Vec<AttachmentLine>,
    events: Vec<(i64, String, String, Date)>,
    can_edit: bool,
    refused: Option<&'static str>,
}

impl ShowPage {
    fn next_steps(&self) -> &'static [&'static str] {
        status::next(&self.agreement.status)
    }

    fn step_at(&self, step: &Step) -> String {
        crate::format::timestamp(step.at)
    }

    fn upload_action(&self) -> String {
        format!("/agreements/{}/attachments", self.agreement.id)
    }
}

async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    show_page(ctx, &user, &pool, id, None).await
}

/// The agreement's page; `refused` names why a status change was refused.
async fn show_page(
    ctx: Ctx,
    user: &CurrentUser,
    pool: &PgPool,
    id: i64,
    refused: Option<&'static str>,
) -> Result<Response, AppError> {
    readable(pool, user, id).await?;
    let agreement = sqlx::query_as!(
        AgreementRow,
        r#"select a.id, a.kind, a.title_en, a.title_km, a.signed_on, a.valid_until, a.status,
                  a.project_id, p.title_en as "project_en?", p.title_km as "project_km?",
                  array(select o.name_en from agreement_parties ap join organizations o on o.id = ap.organization_id
                        where ap.agreement_id = a.id order by o.name_en) as "parties!",
                  array(select v.name_en from agreement_provinces av join provinces v on v.code = av.province_code
                        where av.agreement_id = a.id order by v.code) as "provinces!"
           from agreements a left join projects p on p.id = a.project_id where a.id = $1"#,
        id
    )
    .fetch_one(pool)
    .await?;
    let steps = sqlx::query_as!(
        Step,
        r#"select e.at, e.action, u.display_name as "by?" from audit_events e
           left join users u on u.id = e.actor_id
           where e.entity = 'agreement' and e.entity_id = $1 order by e.at, e.id"#,
        id.to_string()
    )
    .fetch_all(pool)
    .await?;
    let events = sqlx::query!(
        "select id, title_en, title_km, starts_on from events where agreement_id = $1 order by starts_on desc",
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.title_en, row.title_km, row.starts_on))
    .collect();
    let can_edit = policy::allows(user, Action::ManageProgrammes, Scope::Anything);
    let page = ShowPage {
        ctx,
        agreement,
        steps,
        attachments: attachments::of(pool, "agreement", id, true).await?,
        events,
        can_edit,
        refused,
    };
    if refused.is_some() {
        return Err(AppError::invalid(&page));
    }
    render(&page).map(IntoResponse::into_response)
}
