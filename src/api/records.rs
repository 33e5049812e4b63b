//! The other lists of `/api/v1` and the dashboard's figures: studies, events,
//! the projects the owner may read, each a page at a time; the figures as the
//! dashboard counts them for the owner.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::page::{ApiQuery, ListQuery, checked, json, list_query, one_of, people};
use super::problem::{ListAnswers, Problem};
use crate::auth::policy;
use crate::auth::reader::Reader;
use crate::disclosure::{BySex, Count};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Study {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub province_code: String,
    /// YYYY-MM-DD.
    pub period_start: String,
    pub period_end: String,
    pub project_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StudyPage {
    pub data: Vec<Study>,
    pub next_cursor: Option<String>,
}

/// Studies (cycles of field work in a province), by id.
#[utoipa::path(
    get,
    path = "/api/v1/studies",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of studies", body = StudyPage),
        ListAnswers
    )
)]
pub async fn studies(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let mut data: Vec<Study> = sqlx::query!(
        "select id, title_en, title_km, province_code, period_start, period_end, project_id
         from studies
         where ($1::bigint is null or id = $1) and ($2::bigint is null or project_id = $2)
           and ($3 = '' or province_code = $3) and ($4 = '' or province_code = left($4, 2))
           and ($5::date is null or period_end >= $5) and ($6::date is null or period_start <= $6)
           and id > $7
         order by id limit $8",
        s.study,
        s.project,
        s.province,
        s.district,
        s.from,
        s.to,
        window.after,
        window.fetch(),
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| Study {
        id: row.id,
        title_en: row.title_en,
        title_km: row.title_km,
        province_code: row.province_code,
        period_start: row.period_start.to_string(),
        period_end: row.period_end.to_string(),
        project_id: row.project_id,
    })
    .collect();
    let next_cursor = window.next(&mut data, |study| study.id);
    Ok(json(&headers, &StudyPage { data, next_cursor }))
}

/// An event at any level, its participants as the owner may see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiEvent {
    pub id: i64,
    /// workshop, orientation, signing, meeting, training, forum, other.
    pub kind: String,
    /// national, provincial, district, commune.
    pub level: String,
    pub title_en: String,
    pub title_km: String,
    pub starts_on: String,
    pub ends_on: String,
    pub province_code: Option<String>,
    pub district_code: Option<String>,
    pub commune_code: Option<String>,
    pub venue: String,
    pub organizer: String,
    pub project_id: Option<i64>,
    pub agreement_id: Option<i64>,
    pub rounded: bool,
    pub participants: Option<i64>,
    pub female: Option<i64>,
    pub male: Option<i64>,
}

list_query! {
    /// The dashboard's filters, the page, and the events page's own.
    EventQuery {
        /// national, provincial, district, commune.
        level,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub data: Vec<ApiEvent>,
    pub next_cursor: Option<String>,
}

/// Events, by id: held where their level says, and none belongs to a study.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    params(EventQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        ListAnswers
    )
)]
pub async fn events(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let level = one_of(&query.level, &crate::events::LEVELS)?;
    let reader = Reader::of(&caller.user, &s.district);
    let rows = sqlx::query!(
        r#"select e.id, e.kind, e.level, e.title_en, e.title_km, e.starts_on, e.ends_on,
                  e.province_code, e.district_code, e.commune_code, e.venue, o.name_en as organizer,
                  e.project_id, e.agreement_id, e.participants, e.participants_female,
                  e.rounded_participants, e.rounded_participants_female
           from events e join organizations o on o.id = e.organizer_id
           where $1::bigint is null
             and ($2 = '' or e.province_code = $2)
             and ($3 = '' or e.district_code = $3)
             and ($4::date is null or e.ends_on >= $4)
             and ($5::date is null or e.starts_on <= $5)
             and ($6::bigint is null or e.project_id = $6
                  or e.agreement_id in (select g.id from agreements g where g.project_id = $6))
             and ($9 = '' or e.level = $9)
             and e.id > $7
           order by e.id limit $8"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        s.project,
        window.after,
        window.fetch(),
        level,
    )
    .fetch_all(&state.pool)
    .await?;
    let mut data: Vec<ApiEvent> = rows
        .into_iter()
        .map(|row| {
            let blurred = reader.blurs_in(row.district_code.as_deref().unwrap_or(""));
            let counts = BySex::of_total(
                Count::new(row.participants_female, row.rounded_participants_female),
                Count::new(row.participants, row.rounded_participants),
                blurred,
            );
            ApiEvent {
                id: row.id,
                kind: row.kind,
                level: row.level,
                title_en: row.title_en,
                title_km: row.title_km,
                starts_on: row.starts_on.to_string(),
                ends_on: row.ends_on.to_string(),
                province_code: row.province_code,
                district_code: row.district_code,
                commune_code: row.commune_code,
                venue: row.venue,
                organizer: row.organizer,
                project_id: row.project_id,
                agreement_id: row.agreement_id,
                rounded: blurred,
                participants: people(counts.total),
                female: people(counts.female),
                male: people(counts.male),
            }
        })
        .collect();
    let next_cursor = window.next(&mut data, |event| event.id);
    Ok(json(&headers, &EventPage { data, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub lead: String,
    pub starts_on: String,
    pub ends_on: String,
    /// planned, active, closed.
    pub status: String,
    pub published: bool,
    /// In whole units of `currency`.
    pub budget: Option<i64>,
    pub currency: String,
    pub funders: Vec<String>,
    pub partners: Vec<String>,
    pub provinces: Vec<String>,
    pub districts: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectPage {
    pub data: Vec<Project>,
    pub next_cursor: Option<String>,
}

/// The projects the owner may read (those they take part in, or published), by id.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of projects", body = ProjectPage),
        ListAnswers
    )
)]
pub async fn projects(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let mut data: Vec<Project> = sqlx::query!(
        r#"select p.id, p.title_en, p.title_km, o.name_en as lead, p.starts_on, p.ends_on,
                  p.status, p.published, p.budget, p.currency,
                  array(select x.name_en from project_organizations po join organizations x on x.id = po.organization_id
                        where po.project_id = p.id and po.role = 'funder' order by x.name_en) as "funders!",
                  array(select x.name_en from project_organizations po join organizations x on x.id = po.organization_id
                        where po.project_id = p.id and po.role = 'partner' order by x.name_en) as "partners!",
                  array(select pp.province_code from project_provinces pp
                        where pp.project_id = p.id order by 1) as "provinces!",
                  array(select pd.district_code from project_districts pd
                        where pd.project_id = p.id order by 1) as "districts!"
           from projects p join organizations o on o.id = p.lead_organization_id
           where ($1 or p.published or takes_part_in_project(p.id, $2))
             and ($3::bigint is null or p.id = $3)
             and ($4::bigint is null or p.id = (select st.project_id from studies st where st.id = $4))
             and ($5 = '' or exists (select 1 from project_provinces pp
                                     where pp.project_id = p.id and pp.province_code = $5))
             and ($6 = '' or exists (select 1 from project_districts pd
                                     where pd.project_id = p.id and pd.district_code = $6))
             and ($7::date is null or p.ends_on >= $7)
             and ($8::date is null or p.starts_on <= $8)
             and p.id > $9
           order by p.id limit $10"#,
        policy::reads_every_programme(&caller.user),
        caller.user.organization_id,
        s.project,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        window.after,
        window.fetch(),
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| Project {
        id: row.id,
        title_en: row.title_en,
        title_km: row.title_km,
        lead: row.lead,
        starts_on: row.starts_on.to_string(),
        ends_on: row.ends_on.to_string(),
        status: row.status,
        published: row.published,
        budget: row.budget,
        currency: row.currency,
        funders: row.funders,
        partners: row.partners,
        provinces: row.provinces,
        districts: row.districts,
    })
    .collect();
    let next_cursor = window.next(&mut data, |project| project.id);
    Ok(json(&headers, &ProjectPage { data, next_cursor }))
}

/// Events held at one level.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventLevel {
    pub level: String,
    pub events: i64,
    pub participants: Option<i64>,
    pub female: Option<i64>,
}

/// The dashboard's headline figures for the filters, as the owner's
/// dashboard shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Figures {
    /// Are counts of people rounded for the token's owner?
    pub rounded: bool,
    pub districts_covered: i64,
    pub case_studies_published: i64,
    pub activities: i64,
    pub participants: Option<i64>,
    pub female: Option<i64>,
    pub respondents: Option<i64>,
    pub recommendations: i64,
    pub recommendations_endorsed: i64,
    pub recommendations_prioritized: i64,
    pub actions: i64,
    pub actions_overdue: i64,
    /// The average progress of the actions not cancelled, in percent.
    pub average_progress: Option<i64>,
    pub events: Vec<EventLevel>,
}

/// The dashboard's figures, with its filters; a figure is not paged.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "The figures", body = Figures),
        ListAnswers
    )
)]
pub async fn dashboard(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (selection, _) = checked(&state, &caller, &query).await?;
    let reader = Reader::of(&caller.user, &selection.district);
    let figures =
        crate::dashboard::figures::figures(&state, &selection, &reader, crate::format::today())
            .await?;
    let blurred = reader.blurs_small_counts;
    let everyone = figures.people(blurred).total();
    let respondents = figures.people(blurred).respondents;
    let total = &figures.total;
    let body = Figures {
        rounded: blurred,
        districts_covered: total.covered,
        case_studies_published: total.case_studies_published,
        activities: total.activities,
        participants: people(everyone.total),
        female: people(everyone.female),
        respondents: people(respondents.total),
        recommendations: total.recommendations,
        recommendations_endorsed: total.recommendations_endorsed,
        recommendations_prioritized: total.recommendations_prioritized,
        actions: total.actions,
        actions_overdue: total.overdue,
        average_progress: total.average_progress(),
        events: figures
            .events
            .iter()
            .map(|level| {
                let counts = BySex::new(level.female(), level.male(), blurred);
                EventLevel {
                    level: level.level.clone(),
                    events: level.events,
                    participants: people(counts.total),
                    female: people(counts.female),
                }
            })
            .collect(),
    };
    Ok(json(&headers, &body))
}
