//! The case study pages: the list, one case study, and the form.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::form::{
    ActivityOption, Assessment, CaseStudyForm, Choices, MECHANISMS, SECTIONS, ValidCaseStudy,
};
use crate::activities::form::GROUPS;
use crate::activities::participants::Participants;
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Role, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::revisions::{self, Revision, RevisionPage, Snapshot};
use crate::web::forms::{FieldErrors, Form};
use crate::web::markdown::to_safe_html;
use crate::web::{ClientIp, Ctx, Page, flash};

const PAGE_SIZE: i64 = 50;
pub const STATUSES: [&str; 4] = ["draft", "in_review", "published", "archived"];

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    study: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    district: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    page: Option<i64>,
}

impl Filters {
    fn link(&self, page: i64) -> String {
        let query = serde_urlencoded::to_string([
            ("study", self.study.as_str()),
            ("province", &self.province),
            ("district", &self.district),
            ("status", &self.status),
            ("q", &self.q),
            ("sort", &self.sort),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/case-studies?{query}")
    }
}

pub struct CaseStudyRow {
    pub id: i64,
    pub title_en: String,
    pub title_km: String,
    pub district_en: String,
    pub district_km: String,
    pub author: String,
    pub status: String,
    pub updated_at: OffsetDateTime,
}

impl CaseStudyRow {
    pub fn updated_text(&self) -> String {
        crate::web::format_timestamp(self.updated_at)
    }
}

#[derive(Template)]
#[template(path = "case_studies/list.html")]
struct ListPage {
    ctx: Ctx,
    filters: Filters,
    case_studies: Vec<CaseStudyRow>,
    studies: Vec<(i64, String)>,
    statuses: [&'static str; 4],
    page: Page,
    has_next: bool,
    can_write: bool,
}

pub async fn list(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    let page = Page::new(filters.page, PAGE_SIZE);
    let scope = policy::unpublished_read_scope(&user);
    let study: Option<i64> = filters.study.parse().ok();
    let mut case_studies = sqlx::query_as!(
        CaseStudyRow,
        r#"select c.id, c.title_en, c.title_km, d.name_en as district_en, d.name_km as district_km,
                  o.name_en as author, c.status, c.updated_at
           from case_studies c
           join districts d on d.code = c.district_code
           join organizations o on o.id = c.author_organization_id
           where ($1::bigint is null or c.study_id = $1)
             and ($2 = '' or d.province_code = $2)
             and ($3 = '' or c.district_code = $3)
             and ($4 = '' or c.status = $4)
             and ($5 = '' or (c.title_en || ' ' || c.title_km) ilike '%' || $5 || '%'
                  or exists (select 1 from activities a join findings f on f.activity_id = a.id
                             where a.case_study_id = c.id and (f.public or $6)
                               and (f.text_en || ' ' || f.text_km || ' ' || f.quote) ilike '%' || $5 || '%'))
             and ($7 or c.district_code = any($8) or c.status in ('published', 'archived'))
           order by case when $9 = 'district' then d.name_en end asc,
                    case when $9 = 'title' then lower(c.title_en) end asc,
                    c.updated_at desc, c.id desc
           limit $10 offset $11"#,
        study,
        filters.province,
        filters.district,
        filters.status,
        filters.q.trim(),
        policy::allows(&user, Action::ReadInternalText, Scope::Anything),
        scope.everywhere,
        &scope.districts,
        filters.sort,
        page.limit(),
        page.offset(),
    )
    .fetch_all(&pool)
    .await?;
    let has_next = page.has_next(&mut case_studies);
    let studies = sqlx::query!("select id, title_en from studies order by period_start desc")
        .fetch_all(&pool)
        .await?
        .into_iter()
        .map(|row| (row.id, row.title_en))
        .collect();
    render(&ListPage {
        can_write: policy::allows(&user, Action::WriteCaseStudy, Scope::Anything),
        ctx,
        filters,
        case_studies,
        studies,
        statuses: STATUSES,
        page,
        has_next,
    })
    .map(IntoResponse::into_response)
}

/// A case study as its page shows it.
pub struct CaseStudyView {
    pub id: i64,
    pub study_id: i64,
    pub study_title: String,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub author: String,
    pub title_en: String,
    pub title_km: String,
    pub status: String,
    pub summary: String,
    pub context: String,
    pub findings: String,
    pub good_practices: String,
    pub challenges: String,
    pub conclusion: String,
    pub review_comment: String,
    pub version: i32,
}

impl CaseStudyView {
    pub fn published(&self) -> bool {
        matches!(self.status.as_str(), "published" | "archived")
    }

    /// The sections that have text, as (name, sanitized HTML).
    pub fn sections(&self) -> Vec<(&'static str, String)> {
        let texts = [
            &self.summary,
            &self.context,
            &self.findings,
            &self.good_practices,
            &self.challenges,
            &self.conclusion,
        ];
        SECTIONS
            .iter()
            .zip(texts)
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(name, text)| (*name, to_safe_html(text)))
            .collect()
    }
}

pub async fn load(pool: &PgPool, id: i64) -> Result<CaseStudyView, AppError> {
    sqlx::query_as!(
        CaseStudyView,
        r#"select c.id, c.study_id, s.title_en as study_title, c.district_code,
                  d.name_en as district_en, d.name_km as district_km, o.name_en as author,
                  c.title_en, c.title_km, c.status, c.summary, c.context, c.findings, c.good_practices,
                  c.challenges, c.conclusion, c.review_comment, c.version
           from case_studies c
           join studies s on s.id = c.study_id
           join districts d on d.code = c.district_code
           join organizations o on o.id = c.author_organization_id
           where c.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// Findings of the linked activities, by theme.
pub struct ThemeFindings {
    pub theme_en: String,
    pub theme_km: String,
    pub findings: Vec<FindingLine>,
}

pub struct FindingLine {
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
}

async fn findings_by_theme(
    pool: &PgPool,
    id: i64,
    internal: bool,
) -> Result<Vec<ThemeFindings>, AppError> {
    let rows = sqlx::query!(
        r#"select t.name_en, t.name_km, f.text_en, f.text_km, f.quote, f.quote_descriptor
           from findings f
           join activities a on a.id = f.activity_id
           join finding_themes ft on ft.finding_id = f.id
           join themes t on t.id = ft.theme_id
           where a.case_study_id = $1 and (f.public or $2)
           order by t.position, t.id, f.id"#,
        id,
        internal
    )
    .fetch_all(pool)
    .await?;
    let mut themes: Vec<ThemeFindings> = Vec::new();
    for row in rows {
        let line = FindingLine {
            text_en: row.text_en,
            text_km: row.text_km,
            quote: row.quote,
            quote_descriptor: row.quote_descriptor,
        };
        match themes.last_mut() {
            Some(theme) if theme.theme_en == row.name_en => theme.findings.push(line),
            _ => themes.push(ThemeFindings {
                theme_en: row.name_en,
                theme_km: row.name_km,
                findings: vec![line],
            }),
        }
    }
    Ok(themes)
}

pub struct LinkedActivity {
    pub id: i64,
    pub kind: String,
    pub held_on: time::Date,
    pub total: i64,
}

/// The case study page.
#[derive(Template)]
#[template(path = "case_studies/show.html")]
struct ShowPage {
    ctx: Ctx,
    case_study: CaseStudyView,
    mechanisms: Vec<(String, Assessment)>,
    participants: Participants,
    groups: [&'static str; 6],
    themes: Vec<ThemeFindings>,
    activities: Vec<LinkedActivity>,
    revisions: Vec<Revision>,
    attachments: Vec<crate::attachments::AttachmentLine>,
    can_attach: bool,
    internal: bool,
    can_edit: bool,
    can_submit: bool,
    can_review: bool,
}

impl ShowPage {
    fn upload_action(&self) -> String {
        format!("/case-studies/{}/attachments", self.case_study.id)
    }
}

pub async fn show(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let case_study = load(&pool, id).await?;
    let district = case_study.district_code.clone();
    require(
        &user,
        Action::ReadCaseStudy,
        Scope::Record {
            district: &district,
            published: case_study.published(),
        },
    )?;
    let internal = policy::allows(&user, Action::ReadInternalText, Scope::Anything);
    let mechanisms = sqlx::query!(
        "select mechanism, exists_here, functions, citizens_aware, comment from case_study_mechanisms
         where case_study_id = $1",
        id
    )
    .fetch_all(&pool)
    .await?;
    let mechanisms = MECHANISMS
        .iter()
        .map(|code| {
            let row = mechanisms.iter().find(|row| row.mechanism == *code);
            let assessment = row.map_or_else(Assessment::default, |row| Assessment {
                exists: row.exists_here,
                functions: row.functions,
                aware: row.citizens_aware,
                comment: row.comment.clone(),
            });
            (code.to_string(), assessment)
        })
        .collect();
    let activities = sqlx::query_as!(
        LinkedActivity,
        r#"select a.id, a.kind, a.held_on,
                  coalesce((select sum(p.count) from participant_counts p where p.activity_id = a.id), 0)::bigint as "total!"
           from activities a where a.case_study_id = $1 order by a.held_on, a.id"#,
        id
    )
    .fetch_all(&pool)
    .await?;
    let draft = case_study.status == "draft";
    let write = policy::allows(&user, Action::WriteCaseStudy, Scope::District(&district));
    let page = ShowPage {
        mechanisms,
        participants: Participants::of_case_study(&pool, id).await?,
        groups: GROUPS,
        themes: findings_by_theme(&pool, id, internal).await?,
        activities,
        revisions: if internal {
            revisions::list(&pool, "case_study", id).await?
        } else {
            Vec::new()
        },
        attachments: crate::attachments::of(&pool, "case_study", id, internal).await?,
        can_attach: write,
        internal,
        can_edit: write && draft,
        can_submit: write && draft,
        can_review: policy::allows(&user, Action::ReviewCaseStudy, Scope::District(&district)),
        case_study,
        ctx,
    };
    render(&page).map(IntoResponse::into_response)
}

#[derive(Template)]
#[template(path = "case_studies/form.html")]
struct FormPage {
    ctx: Ctx,
    case_study_id: Option<i64>,
    form: CaseStudyForm,
    errors: FieldErrors,
    choices: Choices,
    sections: [&'static str; 6],
    mechanisms: [&'static str; 7],
    theirs: Vec<(String, String)>,
}

impl FormPage {
    fn respond(&self, status: StatusCode) -> Result<Response, AppError> {
        Ok((status, render(self)?).into_response())
    }
}

async fn choices(pool: &PgPool, user: &CurrentUser) -> Result<Choices, AppError> {
    let everywhere = user.role != Role::Ngo;
    let studies = sqlx::query!("select id, title_en from studies order by period_start desc")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|row| (row.id, row.title_en))
        .collect();
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
    let organizations = sqlx::query!(
        "select id, name_en from organizations where kind in ('member_ngo', 'secretariat') order by lower(name_en)"
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| (row.id, row.name_en))
    .collect();
    let activities = sqlx::query_as!(
        ActivityOption,
        r#"select a.id, a.district_code, a.district_code || ' · ' || a.held_on || ' · ' || a.kind as "label!"
           from activities a where $1 or a.district_code = any($2)
           order by a.district_code, a.held_on"#,
        everywhere,
        &user.districts
    )
    .fetch_all(pool)
    .await?;
    Ok(Choices {
        studies,
        districts,
        organizations,
        activities,
    })
}

pub async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<Response, AppError> {
    require(&user, Action::WriteCaseStudy, Scope::Anything)?;
    let choices = choices(&pool, &user).await?;
    let form = CaseStudyForm {
        study_id: choices
            .studies
            .first()
            .map(|s| s.0.to_string())
            .unwrap_or_default(),
        district_code: choices
            .districts
            .first()
            .map(|d| d.0.clone())
            .unwrap_or_default(),
        author_organization_id: user.organization_id.to_string(),
        ..CaseStudyForm::default()
    };
    FormPage {
        ctx,
        case_study_id: None,
        form,
        errors: FieldErrors::default(),
        choices,
        sections: SECTIONS,
        mechanisms: MECHANISMS,
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
    require(&user, Action::WriteCaseStudy, Scope::Anything)?;
    let form = CaseStudyForm::from_pairs(pairs);
    let choices = choices(&pool, &user).await?;
    let refuse = |form, errors, choices, status| {
        FormPage {
            ctx,
            case_study_id: None,
            form,
            errors,
            choices,
            sections: SECTIONS,
            mechanisms: MECHANISMS,
            theirs: Vec::new(),
        }
        .respond(status)
    };
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => return refuse(form, errors, choices, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let mut tx = pool.begin().await?;
    let [
        summary,
        context,
        findings,
        good_practices,
        challenges,
        conclusion,
    ] = &valid.sections;
    let id = sqlx::query_scalar!(
        "insert into case_studies (study_id, district_code, author_organization_id, title_en, title_km,
                                   summary, context, findings, good_practices, challenges, conclusion)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (study_id, district_code) do nothing
         returning id",
        valid.study_id,
        valid.district_code,
        valid.author_organization_id,
        valid.title_en,
        valid.title_km,
        summary,
        context,
        findings,
        good_practices,
        challenges,
        conclusion,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        let mut errors = FieldErrors::default();
        errors.add("district_code", "case-study-exists");
        return refuse(form, errors, choices, StatusCode::CONFLICT);
    };
    save_parts(&mut tx, id, &valid).await?;
    revisions::record(&mut tx, "case_study", id, 1, user.id, &valid.snapshot()).await?;
    audit::record(
        &mut *tx,
        case_study_event(&user, "case_study_created", id, &valid, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/case-studies/{id}")).into_response())
}

fn case_study_event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    valid: &ValidCaseStudy,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "case_study",
        entity_id: Some(id.to_string()),
        summary: format!("{} {}", valid.district_code, valid.title_en),
        ip,
    }
}

/// The mechanisms and the linked activities, replaced as a whole.
async fn save_parts(
    tx: &mut sqlx::PgConnection,
    id: i64,
    valid: &ValidCaseStudy,
) -> Result<(), sqlx::Error> {
    let codes: Vec<String> = MECHANISMS.iter().map(|code| code.to_string()).collect();
    let exists: Vec<bool> = valid.mechanisms.iter().map(|m| m.exists).collect();
    let functions: Vec<bool> = valid.mechanisms.iter().map(|m| m.functions).collect();
    let aware: Vec<bool> = valid.mechanisms.iter().map(|m| m.aware).collect();
    let comments: Vec<String> = valid.mechanisms.iter().map(|m| m.comment.clone()).collect();
    sqlx::query!(
        "delete from case_study_mechanisms where case_study_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into case_study_mechanisms (case_study_id, mechanism, exists_here, functions, citizens_aware, comment)
         select $1, * from unnest($2::text[], $3::bool[], $4::bool[], $5::bool[], $6::text[])",
        id,
        &codes,
        &exists,
        &functions,
        &aware,
        &comments,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update activities set case_study_id = case when id = any($2) then $1 end
         where case_study_id = $1 or id = any($2)",
        id,
        &valid.activities,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn stored_form(pool: &PgPool, id: i64) -> Result<CaseStudyForm, AppError> {
    let view = load(pool, id).await?;
    let mechanisms = sqlx::query!(
        "select mechanism, exists_here, functions, citizens_aware, comment from case_study_mechanisms where case_study_id = $1",
        id
    )
    .fetch_all(pool)
    .await?;
    let activities = sqlx::query_scalar!(
        "select id::text as \"id!\" from activities where case_study_id = $1",
        id
    )
    .fetch_all(pool)
    .await?;
    let mut form = CaseStudyForm {
        study_id: view.study_id.to_string(),
        district_code: view.district_code.clone(),
        author_organization_id: String::new(),
        title_en: view.title_en.clone(),
        title_km: view.title_km.clone(),
        sections: [
            view.summary.clone(),
            view.context.clone(),
            view.findings.clone(),
            view.good_practices.clone(),
            view.challenges.clone(),
            view.conclusion.clone(),
        ],
        activities,
        version: view.version.to_string(),
        ..CaseStudyForm::default()
    };
    form.author_organization_id = sqlx::query_scalar!(
        "select author_organization_id from case_studies where id = $1",
        id
    )
    .fetch_one(pool)
    .await?
    .to_string();
    for row in mechanisms {
        if let Some(index) = MECHANISMS.iter().position(|code| *code == row.mechanism) {
            form.mechanisms[index] = Assessment {
                exists: row.exists_here,
                functions: row.functions,
                aware: row.citizens_aware,
                comment: row.comment,
            };
        }
    }
    Ok(form)
}

/// Only drafts are edited, and only by those who may write in the district.
async fn editable(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<CaseStudyView, AppError> {
    let view = load(pool, id).await?;
    require(
        user,
        Action::WriteCaseStudy,
        Scope::District(&view.district_code),
    )?;
    if view.status != "draft" {
        return Err(AppError::IllegalTransition);
    }
    Ok(view)
}

pub async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    editable(&pool, &user, id).await?;
    FormPage {
        ctx,
        case_study_id: Some(id),
        form: stored_form(&pool, id).await?,
        errors: FieldErrors::default(),
        choices: choices(&pool, &user).await?,
        sections: SECTIONS,
        mechanisms: MECHANISMS,
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
    editable(&pool, &user, id).await?;
    let form = CaseStudyForm::from_pairs(pairs);
    let choices = choices(&pool, &user).await?;
    let refuse = |form, errors, choices, theirs, status| {
        FormPage {
            ctx,
            case_study_id: Some(id),
            form,
            errors,
            choices,
            sections: SECTIONS,
            mechanisms: MECHANISMS,
            theirs,
        }
        .respond(status)
    };
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            return refuse(
                form,
                errors,
                choices,
                Vec::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let mut tx = pool.begin().await?;
    let [
        summary,
        context,
        findings,
        good_practices,
        challenges,
        conclusion,
    ] = &valid.sections;
    let version = sqlx::query_scalar!(
        "update case_studies set study_id = $1, district_code = $2, author_organization_id = $3, title_en = $4,
                title_km = $5, summary = $6, context = $7, findings = $8, good_practices = $9, challenges = $10,
                conclusion = $11, version = version + 1, updated_at = now()
         where id = $12 and version::text = $13 and status = 'draft'
         returning version",
        valid.study_id,
        valid.district_code,
        valid.author_organization_id,
        valid.title_en,
        valid.title_km,
        summary,
        context,
        findings,
        good_practices,
        challenges,
        conclusion,
        id,
        form.version,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(version) = version else {
        drop(tx);
        let theirs =
            crate::revisions::differences(&pool, "case_study", id, &valid.snapshot()).await?;
        let current_version = load(&pool, id).await?.version.to_string();
        let kept = CaseStudyForm {
            version: current_version,
            ..form
        };
        return refuse(
            kept,
            FieldErrors::default(),
            choices,
            theirs,
            StatusCode::CONFLICT,
        );
    };
    save_parts(&mut tx, id, &valid).await?;
    revisions::record(
        &mut tx,
        "case_study",
        id,
        version,
        user.id,
        &valid.snapshot(),
    )
    .await?;
    audit::record(
        &mut *tx,
        case_study_event(&user, "case_study_updated", id, &valid, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/case-studies/{id}")).into_response())
}

pub async fn revision(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path((id, version)): Path<(i64, i32)>,
) -> Result<Response, AppError> {
    let view = load(&pool, id).await?;
    require(
        &user,
        Action::ReadCaseStudy,
        Scope::District(&view.district_code),
    )?;
    require(&user, Action::ReadInternalText, Scope::Anything)?;
    let (revision, snapshot): (Revision, Snapshot) =
        revisions::snapshot(&pool, "case_study", id, version)
            .await?
            .ok_or(AppError::NotFound)?;
    render(&RevisionPage {
        ctx,
        back: format!("/case-studies/{id}"),
        revision,
        snapshot,
    })
    .map(IntoResponse::into_response)
}
