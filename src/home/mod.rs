//! `/`: each role's home. For now it shows where the user works and, for
//! administrators, the size of what they manage; later features add the worklists.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use sqlx::PgPool;

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
}

async fn home(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Html<String>, AppError> {
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
    render(&HomePage {
        ctx,
        user,
        districts,
        totals,
    })
}
