//! `/`: each role's home. For now it shows where the user works and, for
//! administrators, the size of what they manage; later features add the worklists.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::Ctx;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

pub struct DistrictLink {
    pub code: String,
    pub name_en: String,
    pub name_km: String,
}

pub struct Totals {
    pub users: i64,
    pub organizations: i64,
    pub districts: i64,
    pub communes: i64,
}

#[derive(Template)]
#[template(path = "home/home.html")]
struct HomePage {
    ctx: Ctx,
    user: CurrentUser,
    districts: Vec<DistrictLink>,
    totals: Option<Totals>,
    waiting: Vec<WaitingList>,
    stale_actions: Vec<StaleAction>,
}

/// An action the user's organization owns that is overdue or has had no report
/// for `STALE_AFTER_DAYS`.
pub struct StaleAction {
    pub id: i64,
    pub description_en: String,
    pub description_km: String,
    pub due_on: time::Date,
    pub overdue: bool,
}

/// A recommendation list waiting for this official's endorsement.
pub struct WaitingList {
    pub id: i64,
    pub district_en: String,
    pub district_km: String,
    pub study: String,
    pub recommendations: i64,
}

async fn home(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    // A donor has nothing waiting for them: their home is the dashboard.
    if user.role == policy::Role::Donor {
        return crate::dashboard::dashboard(
            ctx,
            user,
            State(state),
            Query(Default::default()),
            Query(Default::default()),
        )
        .await;
    }
    let pool = state.pool;
    let districts = sqlx::query_as!(
        DistrictLink,
        "select code, name_en, name_km from districts where code = any($1) order by code",
        &user.districts
    )
    .fetch_all(&pool)
    .await?;
    let totals = if policy::allows(&user, Action::Administer, Scope::Anything) {
        Some(
            sqlx::query_as!(
                Totals,
                r#"select (select count(*) from users where active) as "users!",
                          (select count(*) from organizations) as "organizations!",
                          (select count(*) from districts) as "districts!",
                          (select count(*) from communes) as "communes!""#
            )
            .fetch_one(&pool)
            .await?,
        )
    } else {
        None
    };
    // Only officials of the list's own district can endorse it, so only they
    // see it waiting.
    let waiting = if user.role == crate::auth::policy::Role::Sna {
        sqlx::query_as!(
            WaitingList,
            r#"select l.id, d.name_en as district_en, d.name_km as district_km, s.title_en as study,
                      (select count(*) from recommendations r where r.list_id = l.id) as "recommendations!"
               from recommendation_lists l
               join districts d on d.code = l.district_code
               join studies s on s.id = l.study_id
               where l.status = 'submitted' and l.district_code = any($1)
               order by l.updated_at"#,
            &user.districts
        )
        .fetch_all(&pool)
        .await?
    } else {
        Vec::new()
    };
    let today = crate::activities::form::today();
    let stale_actions = sqlx::query_as!(
        StaleAction,
        r#"select a.id, a.description_en, a.description_km, a.due_on,
                  (a.due_on < $2 and a.status not in ('completed', 'cancelled')) as "overdue!"
           from actions a
           where a.owner_organization_id = $1
             and a.status not in ('completed', 'cancelled')
             and (a.due_on < $2 or coalesce(a.reported_on, a.starts_on) < $2 - $3::int)
           order by a.due_on"#,
        user.organization_id,
        today,
        crate::action_plans::STALE_AFTER_DAYS as i32,
    )
    .fetch_all(&pool)
    .await?;
    render(&HomePage {
        ctx,
        user,
        districts,
        totals,
        waiting,
        stale_actions,
    })
    .map(IntoResponse::into_response)
}
