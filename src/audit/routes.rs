//! `/admin/audit`: the audit log for administrators, newest first, filtered by
//! actor, action and date.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use super::refusals::{self, RefusalRow};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::{Ctx, Page, forms};

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}

const PAGE_SIZE: i64 = 50;
/// The latest refused requests shown under the events.
const REFUSALS_SHOWN: i64 = 20;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

impl Filters {
    fn date(value: &str) -> Option<Date> {
        Date::parse(
            value,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
    }

    fn query_string(&self, page: i64) -> String {
        serde_urlencoded::to_string([
            ("actor", self.actor.as_str()),
            ("action", self.action.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

pub struct EventRow {
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub summary: String,
    pub ip: Option<String>,
}

impl EventRow {
    pub fn at_text(&self) -> String {
        crate::format::timestamp(self.at)
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: Ctx,
    filters: Filters,
    events: Vec<EventRow>,
    actions: Vec<String>,
    refusals: Vec<RefusalRow>,
    page: Page,
    has_next: bool,
}

impl AuditPage {
    fn page_link(&self, number: i64) -> String {
        format!("/admin/audit?{}", self.filters.query_string(number))
    }
}

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(filters): Query<Filters>,
) -> Result<Html<String>, AppError> {
    if !policy::allows(&user, Action::Administer, Scope::Anything) {
        return Err(AppError::Forbidden);
    }
    let page = Page::new(filters.page, PAGE_SIZE);
    let mut events = sqlx::query_as!(
        EventRow,
        r#"select e.at, u.email as "actor?", e.action, e.entity, e.entity_id, e.summary, e.ip
           from audit_events e left join users u on u.id = e.actor_id
           where ($1 = '' or u.email ilike $1)
             and ($2 = '' or e.action = $2)
             and ($3::date is null or e.at >= $3::date)
             and ($4::date is null or e.at < $4::date + 1)
           order by e.at desc, e.id desc
           limit $5 offset $6"#,
        forms::contains_pattern(&filters.actor),
        filters.action,
        Filters::date(&filters.from),
        Filters::date(&filters.to),
        page.limit(),
        page.offset(),
    )
    .fetch_all(&pool)
    .await?;
    let has_next = page.has_next(&mut events);
    let actions = sqlx::query_scalar!("select distinct action from audit_events order by action")
        .fetch_all(&pool)
        .await?;
    render(&AuditPage {
        refusals: refusals::latest(&pool, REFUSALS_SHOWN).await?,
        ctx,
        filters,
        events,
        actions,
        page,
        has_next,
    })
}
