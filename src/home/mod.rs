//! `/`: each role's home: where the user works, what waits for them (lists to
//! endorse, actions to report on, the secretariat's worklist) and, for
//! administrators, the size of what they manage. Donors get the dashboard.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use std::sync::Arc;

use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::dashboard::View;
use crate::db::cache::GenerationCache;
use crate::error::{AppError, render};
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::filters::Filters;

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
    owned_actions: Arc<Vec<OwnedAction>>,
    /// What waits for the secretariat, by kind.
    work: Arc<Vec<WorkItem>>,
}

/// The secretariat's worklist, kept while the data stands still: at the
/// large scale it reads 100,000 actions and 300,000 reports.
type WorkCache = GenerationCache<time::Date, Vec<WorkItem>>;

/// Each organization's open actions on a day, kept while the data stands still.
type OwnedCache = GenerationCache<(i64, time::Date), Vec<OwnedAction>>;

/// The most of its organization's open actions the home page lists.
const OWNED_ACTIONS_SHOWN: i64 = 30;

/// The most of each kind of work item the home page lists.
const WORK_ITEMS_PER_KIND: i64 = 20;

/// Something that waits for the secretariat: a case study in review, a list
/// waiting for its officials or returned by them, a joint progress report not
/// yet confirmed, an overdue action.
pub struct WorkItem {
    pub kind: String,
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub district_en: String,
    pub district_km: String,
}

impl WorkItem {
    pub fn href(&self) -> String {
        match self.kind.as_str() {
            "case_study_in_review" => format!("/case-studies/{}", self.id),
            "list_submitted" | "list_returned" => format!("/recommendation-lists/{}", self.id),
            _ => format!("/actions/{}", self.id),
        }
    }
}

async fn secretariat_work(
    pool: &sqlx::PgPool,
    today: time::Date,
) -> Result<Vec<WorkItem>, sqlx::Error> {
    sqlx::query_as!(
        WorkItem,
        r#"(select 'case_study_in_review' as "kind!", c.id as "id!", c.title_en as "title_en!",
                   c.title_km as "title_km!", d.name_en as "district_en!", d.name_km as "district_km!"
            from case_studies c join districts d on d.code = c.district_code
            where c.status = 'in_review' order by c.updated_at limit $2)
           union all
           (select 'list_' || l.status, l.id, s.title_en, s.title_km, d.name_en, d.name_km
            from recommendation_lists l join districts d on d.code = l.district_code
            join studies s on s.id = l.study_id
            where l.status in ('submitted', 'returned') order by l.updated_at limit $2)
           union all
           (select 'report_unconfirmed', a.id, a.description_en, a.description_km,
                   coalesce(d.name_en, ''), coalesce(d.name_km, '')
            from actions a join action_plans p on p.id = a.plan_id
            left join districts d on d.code = p.district_code
            where a.lead = 'joint' and a.current_update_id is not null and not a.current_confirmed
            order by a.reported_on limit $2)
           union all
           (select 'action_overdue', a.id, a.description_en, a.description_km,
                   coalesce(d.name_en, ''), coalesce(d.name_km, '')
            from actions a join action_plans p on p.id = a.plan_id
            left join districts d on d.code = p.district_code
            where a.due_on < $1 and a.status not in ('completed', 'cancelled')
            order by a.due_on limit $2)"#,
        today,
        WORK_ITEMS_PER_KIND,
    )
    .fetch_all(pool)
    .await
}

/// An action the user's organization owns that is overdue or has had no report
/// for 90 days (`action_awaits_report` in SQL).
/// An open action the user's organization owns, as the worklist shows it.
pub struct OwnedAction {
    pub id: i64,
    pub description_en: String,
    pub description_km: String,
    pub due_on: time::Date,
    pub overdue: bool,
    /// Due within the week.
    pub due_soon: bool,
    /// Overdue, or no report for 90 days.
    pub needs_update: bool,
    pub district_en: Option<String>,
    pub district_km: Option<String>,
}

/// A recommendation list waiting for this official's endorsement.
pub struct WaitingList {
    pub id: i64,
    pub district_en: String,
    pub district_km: String,
    pub study: String,
    pub study_km: String,
    pub recommendations: i64,
}

/// Every open action `organization` owns, the most pressing first: a new one
/// appears here at once, before any report is due.
async fn owned_actions(
    pool: &sqlx::PgPool,
    organization: i64,
    today: time::Date,
) -> Result<Vec<OwnedAction>, sqlx::Error> {
    sqlx::query_as!(
        OwnedAction,
        r#"select a.id, a.description_en, a.description_km, a.due_on,
                  a.due_on < $2 as "overdue!", a.due_on between $2 and $2 + 7 as "due_soon!",
                  action_awaits_report(a.status, a.due_on, a.reported_on, a.starts_on, $2) as "needs_update!",
                  d.name_en as "district_en?", d.name_km as "district_km?"
           from actions a
           join action_plans p on p.id = a.plan_id
           left join districts d on d.code = p.district_code
           where a.owner_organization_id = $1 and a.status not in ('completed', 'cancelled')
           order by "needs_update!" desc, a.due_on, a.id
           limit $3"#,
        organization,
        today,
        OWNED_ACTIONS_SHOWN,
    )
    .fetch_all(pool)
    .await
}

async fn home(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    if !policy::has_worklist(&user) {
        return crate::dashboard::page(ctx, &user, &state, Filters::default(), View::default())
            .await;
    }
    let pool = state.pool.clone();
    let districts = if user.districts.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as!(
            DistrictLink,
            "select code, name_en, name_km from districts where code = any($1) order by code",
            &user.districts
        )
        .fetch_all(&pool)
        .await?
    };
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
    // Lists wait for those who may endorse them: their district's officials.
    let endorsing: Vec<String> = user
        .districts
        .iter()
        .filter(|district| policy::allows(&user, Action::EndorseList, Scope::District(district)))
        .cloned()
        .collect();
    let waiting = if !endorsing.is_empty() {
        sqlx::query_as!(
            WaitingList,
            r#"select l.id, d.name_en as district_en, d.name_km as district_km, s.title_en as study, s.title_km as study_km,
                      (select count(*) from recommendations r where r.list_id = l.id) as "recommendations!"
               from recommendation_lists l
               join districts d on d.code = l.district_code
               join studies s on s.id = l.study_id
               where l.status = 'submitted' and l.district_code = any($1)
               order by l.updated_at"#,
            &endorsing
        )
        .fetch_all(&pool)
        .await?
    } else {
        Vec::new()
    };
    let today = crate::format::today();
    let work = if policy::allows(&user, Action::ManagePlans, Scope::Anything) {
        state
            .kept("worklist", WorkCache::new)
            .get(today, async || secretariat_work(&pool, today).await)
            .await?
    } else {
        Arc::default()
    };
    let organization = user.organization_id;
    let owned_actions = state
        .kept("owned_actions", OwnedCache::new)
        .get((organization, today), async || {
            owned_actions(&pool, organization, today).await
        })
        .await?;
    render(&HomePage {
        ctx,
        user,
        districts,
        totals,
        waiting,
        owned_actions,
        work,
    })
    .map(IntoResponse::into_response)
}
