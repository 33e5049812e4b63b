//! `/events`: what the coalition holds beyond the district field records
//! (`activities`): national and provincial workshops, orientations, the
//! signing of agreements, trainings, at the national, provincial, district or
//! commune level, over one or several days, at a venue, with participants
//! counted by the kind of organization they came from and sex, and linked to
//! a project or an agreement. Everyone signed in reads them, counts under the
//! small-count rule (docs/disclosure.md); the secretariat records them and
//! publishes chosen ones as news (`news`).

pub mod form;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;

use crate::attachments::{self, AttachmentLine};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::session::CurrentUser;
use crate::disclosure::{Count, Shown, Table};
use crate::error::{AppError, render};
use crate::projects::choices::{self, Choice};
use crate::state::AppState;
use crate::web::forms::FieldErrors;
use crate::web::{Ctx, Page};

pub const KINDS: [&str; 7] = [
    "workshop",
    "orientation",
    "signing",
    "meeting",
    "training",
    "forum",
    "other",
];
pub const LEVELS: [&str; 4] = ["national", "provincial", "district", "commune"];
/// The kinds of organization participants came from, in the order the form
/// and the tables show them.
pub const ORGANIZATION_KINDS: [&str; 8] = [
    "government",
    "sna",
    "cso",
    "cbo",
    "private_sector",
    "development_partner",
    "citizen",
    "other",
];
pub const SEXES: [&str; 2] = ["female", "male"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(list).post(form::create))
        .route("/events/new", get(form::new_form))
        .route("/events/{id}", get(show).post(form::update))
        .route("/events/{id}/edit", get(form::edit_form))
}

/// Where an event was held, as a line: "Pursat" or "Phnom Penh · Hotel…".
pub struct Place {
    pub province_en: Option<String>,
    pub province_km: Option<String>,
    pub district_en: Option<String>,
    pub district_km: Option<String>,
    pub venue: String,
}

/// An event as the list shows it.
pub struct EventLine {
    pub id: i64,
    pub kind: String,
    pub level: String,
    pub title_en: String,
    pub title_km: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub province_en: Option<String>,
    pub province_km: Option<String>,
    pub participants: i64,
    pub rounded_participants: i64,
    pub district_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListFilters {
    level: String,
    province: String,
    project: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "events/list.html")]
struct ListPage {
    ctx: Ctx,
    filters: ListFilters,
    errors: FieldErrors,
    events: Vec<EventLine>,
    provinces: Vec<Choice<String>>,
    projects: Vec<Choice<i64>>,
    page: Page,
    has_next: bool,
    can_create: bool,
    user: CurrentUser,
}

impl ListPage {
    fn participants(&self, event: &EventLine) -> Shown {
        let count = Count::new(event.participants, event.rounded_participants);
        count.shown(blurs(&self.user, event.district_code.as_deref()))
    }

    fn page_link(&self, number: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("level", self.filters.level.as_str()),
            ("province", &self.filters.province),
            ("project", &self.filters.project),
            ("page", &number.to_string()),
        ])
        .unwrap_or_default();
        format!("/events?{query}")
    }
}

/// Does `user` see an event's small counts blurred? Exact for the
/// secretariat, and for a district's own NGO staff at a district event.
pub fn blurs(user: &CurrentUser, district: Option<&str>) -> bool {
    let scope = district.map_or(Scope::Anything, Scope::District);
    !policy::allows(user, Action::ReadSmallCounts, scope)
}

const PAGE_SIZE: i64 = 50;

async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(filters): Query<ListFilters>,
) -> Result<Response, AppError> {
    let provinces = choices::provinces(&pool).await?;
    let projects = choices::readable_projects(&pool, &user).await?;
    let mut errors = FieldErrors::default();
    if !filters.level.is_empty() && !LEVELS.contains(&filters.level.as_str()) {
        errors.add("level", "error-choose");
    }
    let province = choices::codes(
        &mut errors,
        "province",
        std::slice::from_ref(&filters.province),
        provinces.iter().map(|choice| choice.key.as_str()),
    );
    let project = choices::optional_id(&mut errors, "project", &filters.project, &projects);
    let page = Page::new(filters.page, PAGE_SIZE);
    let can_create = policy::allows(&user, Action::ManageProgrammes, Scope::Anything);
    let mut events = Vec::new();
    if errors.is_empty() {
        events = sqlx::query_as!(
            EventLine,
            r#"select e.id, e.kind, e.level, e.title_en, e.title_km, e.starts_on, e.ends_on,
                      v.name_en as "province_en?", v.name_km as "province_km?",
                      e.participants::bigint as "participants!",
                      e.rounded_participants::bigint as "rounded_participants!", e.district_code
               from events e left join provinces v on v.code = e.province_code
               where ($1 = '' or e.level = $1) and ($2::text is null or e.province_code = $2)
                 and ($3::bigint is null or e.project_id = $3)
               order by e.starts_on desc, e.id desc
               limit $4 offset $5"#,
            filters.level,
            province.first(),
            project,
            page.limit(),
            page.offset(),
        )
        .fetch_all(&pool)
        .await?;
    }
    let has_next = page.has_next(&mut events);
    let page_view = ListPage {
        ctx,
        filters,
        events,
        provinces,
        projects,
        page,
        has_next,
        can_create,
        user,
        errors,
    };
    if !page_view.errors.is_empty() {
        return Err(AppError::invalid(&page_view));
    }
    Ok(render(&page_view)?.into_response())
}

/// An event with everything its page shows.
pub struct EventRecord {
    pub id: i64,
    pub kind: String,
    pub level: String,
    pub title_en: String,
    pub title_km: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub district_code: Option<String>,
    pub commune_en: Option<String>,
    pub summary_en: String,
    pub summary_km: String,
    pub organizer: String,
    pub project_id: Option<i64>,
    pub project_en: Option<String>,
    pub project_km: Option<String>,
    pub agreement_id: Option<i64>,
    pub agreement_en: Option<String>,
    pub agreement_km: Option<String>,
    pub partners: Vec<String>,
}

/// The counts grid, kind of organization × sex, from the flat arrays the
/// queries return in `ORGANIZATION_KINDS` × `SEXES` order.
pub fn grid(exact: &[i32], rounded: &[i32]) -> Vec<[Count; 2]> {
    exact
        .chunks(SEXES.len())
        .zip(rounded.chunks(SEXES.len()))
        .map(|(exact, rounded)| {
            [0, 1].map(|sex| {
                Count::new(
                    exact.get(sex).copied().unwrap_or_default(),
                    rounded.get(sex).copied().unwrap_or_default(),
                )
            })
        })
        .collect()
}

/// The event `id` with its place, and its participants by kind of
/// organization and sex (exact and rounded).
pub async fn load(
    pool: &PgPool,
    id: i64,
) -> Result<(EventRecord, Place, Vec<[Count; 2]>), AppError> {
    let row = sqlx::query!(
        r#"select e.id, e.kind, e.level, e.title_en, e.title_km, e.starts_on, e.ends_on,
                  e.district_code, c.name_en as "commune_en?", e.summary_en, e.summary_km,
                  o.name_en as organizer, e.project_id, p.title_en as "project_en?", p.title_km as "project_km?",
                  e.agreement_id, a.title_en as "agreement_en?", a.title_km as "agreement_km?",
                  v.name_en as "province_en?", v.name_km as "province_km?",
                  d.name_en as "district_en?", d.name_km as "district_km?", e.venue,
                  array(select x.name_en from event_partners ep join organizations x on x.id = ep.organization_id
                        where ep.event_id = e.id order by x.name_en) as "partners!",
                  array(select coalesce(sum(n.count), 0)::int from unnest($2::text[]) with ordinality k(kind, i)
                        cross join unnest($3::text[]) with ordinality s(sex, j)
                        left join event_participants n on n.event_id = e.id and n.organization_kind = k.kind and n.sex = s.sex
                        group by k.i, s.j order by k.i, s.j) as "exact!",
                  array(select coalesce(sum(rounded_count(n.count, count_key(e.disclosure_secret, k.kind || ' ' || s.sex))), 0)::int
                        from unnest($2::text[]) with ordinality k(kind, i)
                        cross join unnest($3::text[]) with ordinality s(sex, j)
                        left join event_participants n on n.event_id = e.id and n.organization_kind = k.kind and n.sex = s.sex
                        group by k.i, s.j order by k.i, s.j) as "rounded!"
           from events e
           join organizations o on o.id = e.organizer_id
           left join projects p on p.id = e.project_id
           left join agreements a on a.id = e.agreement_id
           left join provinces v on v.code = e.province_code
           left join districts d on d.code = e.district_code
           left join communes c on c.code = e.commune_code
           where e.id = $1"#,
        id,
        &ORGANIZATION_KINDS.map(String::from)[..],
        &SEXES.map(String::from)[..],
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let counts = grid(&row.exact, &row.rounded);
    let place = Place {
        province_en: row.province_en,
        province_km: row.province_km,
        district_en: row.district_en,
        district_km: row.district_km,
        venue: row.venue,
    };
    let record = EventRecord {
        id: row.id,
        kind: row.kind,
        level: row.level,
        title_en: row.title_en,
        title_km: row.title_km,
        starts_on: row.starts_on,
        ends_on: row.ends_on,
        district_code: row.district_code,
        commune_en: row.commune_en,
        summary_en: row.summary_en,
        summary_km: row.summary_km,
        organizer: row.organizer,
        project_id: row.project_id,
        project_en: row.project_en,
        project_km: row.project_km,
        agreement_id: row.agreement_id,
        agreement_en: row.agreement_en,
        agreement_km: row.agreement_km,
        partners: row.partners,
    };
    Ok((record, place, counts))
}

impl Place {
    /// The place in the reader's language, from the most precise part.
    pub fn line(&self, ctx: &Ctx) -> String {
        let mut parts = Vec::new();
        if let (Some(en), Some(km)) = (&self.district_en, &self.district_km) {
            parts.push(ctx.pick(en, km).to_owned());
        }
        if let (Some(en), Some(km)) = (&self.province_en, &self.province_km) {
            parts.push(ctx.pick(en, km).to_owned());
        }
        if !self.venue.is_empty() {
            parts.insert(0, self.venue.clone());
        }
        if parts.is_empty() {
            parts.push(ctx.t("level-national"));
        }
        parts.join(", ")
    }
}

/// "18 September 2025" or "2–4 September 2025", as the coalition's posts
/// date an event.
pub fn dates(ctx: &Ctx, starts_on: Date, ends_on: Date) -> String {
    let month = |date: Date| ctx.label("month", &u8::from(date.month()).to_string());
    if starts_on == ends_on {
        format!(
            "{} {} {}",
            starts_on.day(),
            month(starts_on),
            starts_on.year()
        )
    } else if starts_on.month() == ends_on.month() && starts_on.year() == ends_on.year() {
        format!(
            "{}–{} {} {}",
            starts_on.day(),
            ends_on.day(),
            month(ends_on),
            ends_on.year()
        )
    } else {
        format!(
            "{} {} {} – {} {} {}",
            starts_on.day(),
            month(starts_on),
            starts_on.year(),
            ends_on.day(),
            month(ends_on),
            ends_on.year()
        )
    }
}

#[derive(Template)]
#[template(path = "events/show.html")]
struct ShowPage {
    ctx: Ctx,
    event: EventRecord,
    place: Place,
    table: Table,
    attachments: Vec<AttachmentLine>,
    news: Option<(i64, bool)>,
    can_edit: bool,
}

impl ShowPage {
    fn dates(&self) -> String {
        dates(&self.ctx, self.event.starts_on, self.event.ends_on)
    }

    fn place_line(&self) -> String {
        self.place.line(&self.ctx)
    }

    fn upload_action(&self) -> String {
        format!("/events/{}/attachments", self.event.id)
    }

    fn kinds(&self) -> impl Iterator<Item = (usize, &'static str)> {
        ORGANIZATION_KINDS.iter().copied().enumerate()
    }
}

async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (event, place, counts) = load(&pool, id).await?;
    let table = Table::new(&counts, blurs(&user, event.district_code.as_deref()));
    let files = sqlx::query_scalar!(
        r#"select takes_part_in_event(id, $2) as "takes_part!" from events where id = $1"#,
        id,
        user.organization_id
    )
    .fetch_one(&pool)
    .await?;
    let internal = policy::allows(
        &user,
        Action::ReadProgramme,
        Scope::Programme {
            takes_part: files,
            published: false,
        },
    );
    let news = sqlx::query!(
        "select id, published_at is not null as published from news_items where event_id = $1",
        id
    )
    .fetch_optional(&pool)
    .await?
    .map(|row| (row.id, row.published.unwrap_or(false)));
    let page = ShowPage {
        ctx,
        event,
        place,
        table,
        attachments: attachments::of(&pool, "event", id, internal).await?,
        news,
        can_edit: policy::allows(&user, Action::ManageProgrammes, Scope::Anything),
    };
    Ok(render(&page)?.into_response())
}
