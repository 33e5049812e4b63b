//! The activity pages: the list, one activity, and the form to record or edit one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;
use time::Date;
use tower_sessions::Session;

use super::form::{self, ActivityForm, Choices, Counts, GROUPS, KINDS, SEXES, ValidActivity};
use super::participants::Participants;
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Role, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::revisions::{self, Revision, RevisionPage};
use crate::web::forms::{FieldErrors, Form};
use crate::web::{ClientIp, Ctx, Page, flash};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    study: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
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

    fn link(&self, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("study", self.study.as_str()),
            ("province", &self.province),
            ("district", &self.district),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("q", &self.q),
            ("sort", &self.sort),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/activities?{query}")
    }
}

pub struct ActivityRow {
    pub id: i64,
    pub kind: String,
    pub held_on: Date,
    pub district_en: String,
    pub district_km: String,
    pub organization: String,
    pub total: i64,
    pub female: i64,
}

impl ActivityRow {
    pub fn percent_female(&self) -> String {
        percent(self.female, self.total)
    }
}

/// "57%", or "–" when there is nobody to count.
pub fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{}%", (part * 100 + whole / 2) / whole)
    }
}

#[derive(Template)]
#[template(path = "activities/list.html")]
struct ListPage {
    ctx: Ctx,
    filters: Filters,
    activities: Vec<ActivityRow>,
    studies: Vec<(i64, String)>,
    kinds: [&'static str; 9],
    page: Page,
    has_next: bool,
    can_record: bool,
}

pub async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let page = Page::new(filters.page, PAGE_SIZE);
    let scope = policy::unpublished_read_scope(&user);
    let internal = policy::allows(&user, Action::ReadInternalText, Scope::Anything);
    let study: Option<i64> = filters.study.parse().ok();
    let mut activities = sqlx::query_as!(
        ActivityRow,
        r#"select a.id, a.kind, a.held_on, d.name_en as district_en, d.name_km as district_km,
                  o.name_en as organization,
                  coalesce(t.total, 0) as "total!", coalesce(t.female, 0) as "female!"
           from activities a
           join districts d on d.code = a.district_code
           join organizations o on o.id = a.facilitating_organization_id
           left join case_studies c on c.id = a.case_study_id
           left join lateral (
               select sum(p.count)::bigint as total,
                      (sum(p.count) filter (where p.sex = 'female'))::bigint as female
               from participant_counts p where p.activity_id = a.id
           ) t on true
           where ($1::bigint is null or a.study_id = $1)
             and ($2 = '' or d.province_code = $2)
             and ($3 = '' or a.district_code = $3)
             and ($4 = '' or a.kind = $4)
             and ($5::date is null or a.held_on >= $5)
             and ($6::date is null or a.held_on <= $6)
             and ($7 = ''
                  or ($8 and (a.summary ilike '%' || $7 || '%' or a.place ilike '%' || $7 || '%'))
                  or exists (select 1 from findings f
                             where f.activity_id = a.id and (f.public or $8)
                               and (f.text_en || ' ' || f.text_km || ' ' || f.quote) ilike '%' || $7 || '%'))
             and ($9 or a.district_code = any($10) or c.status in ('published', 'archived'))
           order by case when $11 = 'oldest' then a.held_on end asc,
                    case when $11 = 'district' then d.name_en end asc,
                    a.held_on desc, a.id desc
           limit $12 offset $13"#,
        study,
        filters.province,
        filters.district,
        filters.kind,
        Filters::date(&filters.from),
        Filters::date(&filters.to),
        filters.q.trim(),
        internal,
        scope.everywhere,
        &scope.districts,
        filters.sort,
        page.limit(),
        page.offset(),
    )
    .fetch_all(&pool)
    .await?;
    let has_next = page.has_next(&mut activities);
    let studies = study_choices(&pool).await?;
    render(&ListPage {
        can_record: policy::allows(&user, Action::RecordActivity, Scope::Anything),
        ctx,
        filters,
        activities,
        studies,
        kinds: KINDS,
        page,
        has_next,
    })
    .map(IntoResponse::into_response)
}

async fn study_choices(pool: &PgPool) -> Result<Vec<(i64, String)>, AppError> {
    Ok(
        sqlx::query!("select id, title_en from studies order by period_start desc")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.title_en))
            .collect(),
    )
}

/// One activity as its page shows it.
pub struct ActivityView {
    pub id: i64,
    pub kind: String,
    pub held_on: Date,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub commune_en: Option<String>,
    pub commune_km: Option<String>,
    pub place: String,
    pub organization: String,
    pub study_id: Option<i64>,
    pub study_title: Option<String>,
    pub case_study_id: Option<i64>,
    pub case_study_title: Option<String>,
    pub published: bool,
    pub summary: String,
    pub youth: i32,
    pub persons_with_disabilities: i32,
}

async fn load(pool: &PgPool, id: i64) -> Result<ActivityView, AppError> {
    sqlx::query_as!(
        ActivityView,
        r#"select a.id, a.kind, a.held_on, a.district_code, d.name_en as district_en, d.name_km as district_km,
                  m.name_en as "commune_en?", m.name_km as "commune_km?", a.place,
                  o.name_en as organization, a.study_id, s.title_en as "study_title?",
                  a.case_study_id, c.title_en as "case_study_title?",
                  coalesce(c.status in ('published', 'archived'), false) as "published!",
                  a.summary, a.youth, a.persons_with_disabilities
           from activities a
           join districts d on d.code = a.district_code
           join organizations o on o.id = a.facilitating_organization_id
           left join communes m on m.code = a.commune_code
           left join studies s on s.id = a.study_id
           left join case_studies c on c.id = a.case_study_id
           where a.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// A finding as the activity page lists it.
pub struct FindingView {
    pub id: i64,
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
    pub public: bool,
    pub themes_en: Vec<String>,
    pub themes_km: Vec<String>,
}

async fn findings_of(
    pool: &PgPool,
    activity_id: i64,
    internal: bool,
) -> Result<Vec<FindingView>, AppError> {
    Ok(sqlx::query_as!(
        FindingView,
        r#"select f.id, f.text_en, f.text_km, f.quote, f.quote_descriptor, f.public,
                  array(select t.name_en from finding_themes ft join themes t on t.id = ft.theme_id
                        where ft.finding_id = f.id order by t.position) as "themes_en!",
                  array(select t.name_km from finding_themes ft join themes t on t.id = ft.theme_id
                        where ft.finding_id = f.id order by t.position) as "themes_km!"
           from findings f where f.activity_id = $1 and (f.public or $2) order by f.id"#,
        activity_id,
        internal,
    )
    .fetch_all(pool)
    .await?)
}

/// The themes a finding can be tagged with: (id, English, Khmer).
pub async fn theme_choices(pool: &PgPool) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(
        sqlx::query!("select id, name_en, name_km from themes where active order by position, id")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| (row.id, row.name_en, row.name_km))
            .collect(),
    )
}

#[derive(Template)]
#[template(path = "activities/show.html")]
pub struct ShowPage {
    pub ctx: Ctx,
    pub activity: ActivityView,
    pub participants: Participants,
    pub groups: [&'static str; 6],
    pub findings: Vec<FindingView>,
    pub themes: Vec<(i64, String, String)>,
    pub revisions: Vec<Revision>,
    pub internal: bool,
    pub can_edit: bool,
    pub finding_form: super::findings::FindingForm,
    pub finding_errors: FieldErrors,
    pub attachments: Vec<crate::attachments::AttachmentLine>,
}

impl ShowPage {
    fn upload_action(&self) -> String {
        format!("/activities/{}/attachments", self.activity.id)
    }
}

/// Everything the activity page needs, after checking that `user` may read it.
pub async fn show_page(
    ctx: Ctx,
    user: &CurrentUser,
    pool: &PgPool,
    id: i64,
) -> Result<ShowPage, AppError> {
    let activity = load(pool, id).await?;
    require(
        user,
        Action::ReadActivity,
        Scope::Record {
            district: &activity.district_code,
            published: activity.published,
        },
    )?;
    let internal = policy::allows(user, Action::ReadInternalText, Scope::Anything);
    Ok(ShowPage {
        can_edit: policy::allows(
            user,
            Action::RecordActivity,
            Scope::District(&activity.district_code),
        ),
        participants: Participants::of_activity(pool, id).await?,
        findings: findings_of(pool, id, internal).await?,
        attachments: crate::attachments::of(pool, "activity", id, internal).await?,
        themes: theme_choices(pool).await?,
        revisions: if internal {
            revisions::list(pool, "activity", id).await?
        } else {
            Vec::new()
        },
        groups: GROUPS,
        internal,
        activity,
        ctx,
        finding_form: Default::default(),
        finding_errors: FieldErrors::default(),
    })
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    render(&show_page(ctx, &user, &pool, id).await?).map(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "activities/form.html")]
struct FormPage {
    ctx: Ctx,
    activity_id: Option<i64>,
    form: ActivityForm,
    errors: FieldErrors,
    choices: Choices,
    kinds: [&'static str; 9],
    groups: [&'static str; 6],
    /// On a conflict: the fields someone else saved meanwhile, as stored now.
    theirs: Vec<(String, String)>,
}

impl FormPage {
    fn count_name(&self, group: usize, sex: usize) -> String {
        form::count_name(group, sex)
    }

    fn respond(&self, status: StatusCode) -> Result<Response, AppError> {
        Ok((status, render(self)?).into_response())
    }
}

/// What the user may pick on the form.
async fn choices(pool: &PgPool, user: &CurrentUser) -> Result<Choices, AppError> {
    let everywhere = user.role != Role::Ngo;
    let districts = sqlx::query!(
        "select code, name_en, name_km from districts where $1 or code = any($2) order by code",
        everywhere,
        &user.districts
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.code, row.name_en, row.name_km))
    .collect();
    // Staff may record anywhere; their commune list is that of the provinces
    // where studies run, to keep the page small.
    let communes = sqlx::query!(
        "select m.code, m.district_code, m.name_en, m.name_km from communes m join districts d on d.code = m.district_code
         where ($1 and d.province_code in (select province_code from studies)) or m.district_code = any($2)
         order by m.code",
        everywhere,
        &user.districts
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.code, row.district_code, row.name_en, row.name_km))
    .collect();
    let organizations = sqlx::query!(
        "select id, name_en from organizations where kind in ('member_ngo', 'secretariat') order by lower(name_en)"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.name_en))
    .collect();
    let case_studies = sqlx::query!(
        "select c.id, c.district_code, coalesce(nullif(c.title_en, ''), c.title_km) as \"title!\"
         from case_studies c where $1 or c.district_code = any($2) order by c.district_code, c.id",
        everywhere,
        &user.districts
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.district_code, row.title))
    .collect();
    Ok(Choices {
        districts,
        communes,
        organizations,
        studies: study_choices(pool).await?,
        case_studies,
    })
}

pub async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let choices = choices(&pool, &user).await?;
    let form = ActivityForm {
        held_on: form::today().to_string(),
        district_code: choices
            .districts
            .first()
            .map(|d| d.0.clone())
            .unwrap_or_default(),
        facilitating_organization_id: user.organization_id.to_string(),
        study_id: choices
            .studies
            .first()
            .map(|s| s.0.to_string())
            .unwrap_or_default(),
        ..ActivityForm::default()
    };
    FormPage {
        ctx,
        activity_id: None,
        form,
        errors: FieldErrors::default(),
        choices,
        kinds: KINDS,
        groups: GROUPS,
        theirs: Vec::new(),
    }
    .respond(StatusCode::OK)
}

pub async fn create(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    require(&user, Action::RecordActivity, Scope::Anything)?;
    let form = ActivityForm::from_pairs(pairs);
    let choices = choices(&pool, &user).await?;
    let valid = match form.parse(&choices, form::today()) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = FormPage {
                ctx,
                activity_id: None,
                form,
                errors,
                choices,
                kinds: KINDS,
                groups: GROUPS,
                theirs: Vec::new(),
            };
            return page.respond(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "insert into activities (kind, held_on, district_code, commune_code, place, facilitating_organization_id,
                                 study_id, case_study_id, summary, youth, persons_with_disabilities, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning id",
        valid.kind,
        valid.held_on,
        valid.district_code,
        valid.commune_code,
        valid.place,
        valid.facilitating_organization_id,
        valid.study_id,
        valid.case_study_id,
        valid.summary,
        valid.youth,
        valid.persons_with_disabilities,
        user.id,
    )
    .fetch_one(&mut *tx)
    .await?;
    save_counts(&mut tx, id, &valid.counts).await?;
    revisions::record(&mut tx, "activity", id, 1, user.id, &valid.snapshot()).await?;
    audit::record(
        &mut *tx,
        activity_event(&user, "activity_created", id, &valid, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/activities/{id}")).into_response())
}

fn activity_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    activity: &ValidActivity,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "activity",
        entity_id: Some(id.to_string()),
        summary: format!(
            "{} {} {}",
            activity.kind, activity.district_code, activity.held_on
        ),
        ip,
    }
}

async fn save_counts(
    tx: &mut sqlx::PgConnection,
    activity_id: i64,
    counts: &Counts,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from participant_counts where activity_id = $1",
        activity_id
    )
    .execute(&mut *tx)
    .await?;
    let (groups, sexes, numbers) = counts.cells();
    sqlx::query!(
        "insert into participant_counts (activity_id, participant_group, sex, count)
         select $1, * from unnest($2::text[], $3::text[], $4::int[])",
        activity_id,
        &groups,
        &sexes,
        &numbers,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The activity as stored, in the shape of the form.
async fn stored_form(pool: &PgPool, id: i64) -> Result<(ActivityForm, String), AppError> {
    let row = sqlx::query!(
        "select kind, held_on, district_code, commune_code, place, facilitating_organization_id, study_id,
                case_study_id, summary, youth, persons_with_disabilities, version
         from activities where id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let participants = Participants::of_activity(pool, id).await?;
    let mut form = ActivityForm {
        kind: row.kind,
        held_on: row.held_on.to_string(),
        district_code: row.district_code.clone(),
        commune_code: row.commune_code.unwrap_or_default(),
        place: row.place,
        facilitating_organization_id: row.facilitating_organization_id.to_string(),
        study_id: row.study_id.map(|id| id.to_string()).unwrap_or_default(),
        case_study_id: row
            .case_study_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        summary: row.summary,
        youth: row.youth.to_string(),
        persons_with_disabilities: row.persons_with_disabilities.to_string(),
        version: row.version.to_string(),
        ..ActivityForm::default()
    };
    for g in 0..GROUPS.len() {
        for s in 0..SEXES.len() {
            form.counts[g][s] = participants.counts.get(g, s).to_string();
        }
    }
    Ok((form, row.district_code))
}

pub async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (form, district) = stored_form(&pool, id).await?;
    require(&user, Action::RecordActivity, Scope::District(&district))?;
    FormPage {
        ctx,
        activity_id: Some(id),
        form,
        errors: FieldErrors::default(),
        choices: choices(&pool, &user).await?,
        kinds: KINDS,
        groups: GROUPS,
        theirs: Vec::new(),
    }
    .respond(StatusCode::OK)
}

pub async fn update(
    ctx: Ctx,
    user: CurrentUser,
    session: Session,
    ClientIp(ip): ClientIp,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let (_, district) = stored_form(&pool, id).await?;
    require(&user, Action::RecordActivity, Scope::District(&district))?;
    let form = ActivityForm::from_pairs(pairs);
    let choices = choices(&pool, &user).await?;
    let page = |form, errors, choices, theirs| FormPage {
        ctx,
        activity_id: Some(id),
        form,
        errors,
        choices,
        kinds: KINDS,
        groups: GROUPS,
        theirs,
    };
    let valid = match form.parse(&choices, form::today()) {
        Ok(valid) => valid,
        Err(errors) => {
            return page(form, errors, choices, Vec::new())
                .respond(StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let mut tx = pool.begin().await?;
    let version = sqlx::query_scalar!(
        "update activities set kind = $1, held_on = $2, district_code = $3, commune_code = $4, place = $5,
                facilitating_organization_id = $6, study_id = $7, case_study_id = $8, summary = $9, youth = $10,
                persons_with_disabilities = $11, version = version + 1, updated_at = now()
         where id = $12 and version::text = $13
         returning version",
        valid.kind,
        valid.held_on,
        valid.district_code,
        valid.commune_code,
        valid.place,
        valid.facilitating_organization_id,
        valid.study_id,
        valid.case_study_id,
        valid.summary,
        valid.youth,
        valid.persons_with_disabilities,
        id,
        form.version,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(version) = version else {
        drop(tx);
        let theirs = revisions::differences(&pool, "activity", id, &valid.snapshot()).await?;
        let (mut current, _) = stored_form(&pool, id).await?;
        // Keep what this user typed, against the version now stored.
        current = ActivityForm {
            version: current.version,
            ..form
        };
        return page(current, FieldErrors::default(), choices, theirs)
            .respond(StatusCode::CONFLICT);
    };
    save_counts(&mut tx, id, &valid.counts).await?;
    revisions::record(&mut tx, "activity", id, version, user.id, &valid.snapshot()).await?;
    audit::record(
        &mut *tx,
        activity_event(&user, "activity_updated", id, &valid, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/activities/{id}")).into_response())
}

pub async fn revision(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path((id, version)): Path<(i64, i32)>,
) -> Result<Response, AppError> {
    let activity = load(&pool, id).await?;
    require(
        &user,
        Action::ReadActivity,
        Scope::District(&activity.district_code),
    )?;
    require(&user, Action::ReadInternalText, Scope::Anything)?;
    let (revision, snapshot) = revisions::snapshot(&pool, "activity", id, version)
        .await?
        .ok_or(AppError::NotFound)?;
    render(&RevisionPage {
        ctx,
        back: format!("/activities/{id}"),
        revision,
        snapshot,
    })
    .map(IntoResponse::into_response)
}
