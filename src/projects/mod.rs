//! `/projects`: the coalition's funded projects ("Strengthening Transparency…"),
//! each led by one organization, with its funders and partners, its period,
//! the provinces and districts it covers and its budget; and what belongs to
//! it: studies, agreements, events. The secretariat manages them; the
//! organizations that take part read them, and everyone signed in once a
//! project is published (`Action::ReadProgramme`).

pub mod choices;
mod form;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sqlx::PgPool;
use time::Date;

use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::Ctx;

pub const STATUSES: [&str; 3] = ["planned", "active", "closed"];
pub const CURRENCIES: [&str; 3] = ["USD", "KHR", "EUR"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list).post(form::create))
        .route("/projects/new", get(form::new_form))
        .route("/projects/{id}", get(show).post(form::update))
        .route("/projects/{id}/edit", get(form::edit_form))
}

/// A project as the list and its page show it.
pub struct ProjectRow {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub lead: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub status: String,
    pub published: bool,
    pub funders: Vec<String>,
    pub provinces: Vec<String>,
}

#[derive(Template)]
#[template(path = "projects/list.html")]
struct ListPage {
    ctx: Ctx,
    projects: Vec<ProjectRow>,
    can_create: bool,
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    let projects = sqlx::query_as!(
        ProjectRow,
        r#"select p.id, p.title_en, p.title_km, o.name_en as lead, p.starts_on, p.ends_on,
                  p.status, p.published,
                  array(select f.name_en from project_organizations po join organizations f on f.id = po.organization_id
                        where po.project_id = p.id and po.role = 'funder' order by f.name_en) as "funders!",
                  array(select v.name_en from project_provinces pp join provinces v on v.code = pp.province_code
                        where pp.project_id = p.id order by v.code) as "provinces!"
           from projects p join organizations o on o.id = p.lead_organization_id
           where $1 or p.published or takes_part_in_project(p.id, $2)
           order by p.starts_on desc, p.id desc"#,
        policy::reads_every_programme(&user),
        user.organization_id,
    )
    .fetch_all(&pool)
    .await?;
    let can_create = policy::allows(&user, Action::ManageProgrammes, Scope::Anything);
    Ok(render(&ListPage {
        ctx,
        projects,
        can_create,
    })?
    .into_response())
}

/// What belongs to a project, each linked from its page.
pub struct Belonging {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub on: Option<Date>,
    pub status: String,
}

#[derive(Template)]
#[template(path = "projects/show.html")]
struct ShowPage {
    ctx: Ctx,
    project: ProjectRow,
    partners: Vec<String>,
    districts: Vec<String>,
    budget: Option<i64>,
    currency: String,
    studies: Vec<Belonging>,
    agreements: Vec<Belonging>,
    events: Vec<Belonging>,
    can_edit: bool,
}

impl ShowPage {
    fn budget_text(&self) -> String {
        self.budget.map_or_else(
            || "–".to_owned(),
            |amount| format!("{} {}", crate::format::grouped(amount), self.currency),
        )
    }
}

/// May `user` read project `id`? Not found for those who may not either: a
/// project's existence is not for everyone.
pub async fn readable(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<(), AppError> {
    let row = sqlx::query!(
        r#"select published, takes_part_in_project(id, $2) as "takes_part!" from projects where id = $1"#,
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

async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    readable(&pool, &user, id).await?;
    let row = sqlx::query!(
        r#"select p.id, p.title_en, p.title_km, o.name_en as lead, p.starts_on, p.ends_on,
                  p.status, p.published, p.budget, p.currency,
                  array(select f.name_en from project_organizations po join organizations f on f.id = po.organization_id
                        where po.project_id = p.id and po.role = 'funder' order by f.name_en) as "funders!",
                  array(select f.name_en from project_organizations po join organizations f on f.id = po.organization_id
                        where po.project_id = p.id and po.role = 'partner' order by f.name_en) as "partners!",
                  array(select v.name_en from project_provinces pp join provinces v on v.code = pp.province_code
                        where pp.project_id = p.id order by v.code) as "provinces!",
                  array(select d.name_en from project_districts pd join districts d on d.code = pd.district_code
                        where pd.project_id = p.id order by d.code) as "districts!"
           from projects p join organizations o on o.id = p.lead_organization_id
           where p.id = $1"#,
        id
    )
    .fetch_one(&pool)
    .await?;
    let belonging = sqlx::query!(
        r#"select 'study' as "kind!", id as "id!", title_en as "title_en!", title_km as "title_km!",
                  period_start as on, '' as "status!"
           from studies where project_id = $1
           union all
           select 'agreement', id, title_en, title_km, signed_on, status from agreements where project_id = $1
           union all
           select 'event', id, title_en, title_km, starts_on, level from events where project_id = $1
           order by 1, 5 desc nulls last, 2 desc"#,
        id
    )
    .fetch_all(&pool)
    .await?;
    let (mut studies, mut agreements, mut events) = (Vec::new(), Vec::new(), Vec::new());
    for line in belonging {
        let item = Belonging {
            id: line.id,
            title_en: line.title_en,
            title_km: line.title_km,
            on: line.on,
            status: line.status,
        };
        match line.kind.as_str() {
            "study" => studies.push(item),
            "agreement" => agreements.push(item),
            _ => events.push(item),
        }
    }
    let page = ShowPage {
        ctx,
        project: ProjectRow {
            id: row.id,
            title_en: row.title_en,
            title_km: row.title_km,
            lead: row.lead,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            status: row.status,
            published: row.published,
            funders: row.funders,
            provinces: row.provinces,
        },
        partners: row.partners,
        districts: row.districts,
        budget: row.budget,
        currency: row.currency,
        studies,
        agreements,
        events,
        can_edit: policy::allows(&user, Action::ManageProgrammes, Scope::Anything),
    };
    Ok(render(&page)?.into_response())
}
