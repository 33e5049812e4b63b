//! The case study form: create, edit a draft, and refuse the second of two
//! edits made from the same version.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;

use super::Status;
use super::form::{
    ActivityOption, CaseStudyForm, Choices, MECHANISMS, SECTIONS, Sections, ValidCaseStudy,
};
use super::show::{CaseStudyView, load};
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{Answer, AppError};
use crate::revisions;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{Field, Version};
use crate::web::{Actor, Ctx, flash, once};

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
    /// After a stale save: what someone else saved meanwhile.
    theirs: Option<Vec<Field>>,
}

/// What the form offers: the studies, the user's districts, the authors, and
/// the activities of the form's district and study, the only ones it may
/// draw on.
async fn choices(
    pool: &PgPool,
    user: &CurrentUser,
    form: &CaseStudyForm,
) -> Result<Choices, AppError> {
    let mut choices = studies_places_authors(pool, user).await?;
    choices.activities = activity_options(pool, user, form).await?;
    Ok(choices)
}

/// What the form offers whatever its district: the studies, the user's
/// districts and the authors.
async fn studies_places_authors(pool: &PgPool, user: &CurrentUser) -> Result<Choices, AppError> {
    let everywhere = policy::writes_everywhere(user);
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
    let references = sqlx::query!(
        r#"select 'study' as "kind!", s.id as "id!", s.title_en as "label!", s.title_km as "label_km!"
           from studies s
           union all
           select 'organization', o.id, o.name_en, o.name_km from organizations o
           where o.kind in ('member_ngo', 'secretariat')
           order by 1, 3"#,
    )
    .fetch_all(pool)
    .await?;
    let mut choices = Choices {
        studies: Vec::new(),
        districts,
        organizations: Vec::new(),
        activities: Vec::new(),
    };
    for reference in references {
        match reference.kind.as_str() {
            "study" => choices
                .studies
                .push((reference.id, reference.label, reference.label_km)),
            _ => choices.organizations.push((reference.id, reference.label)),
        }
    }
    Ok(choices)
}

/// The activities of the form's district that belong to its study (or to
/// none), newest first.
async fn activity_options(
    pool: &PgPool,
    user: &CurrentUser,
    form: &CaseStudyForm,
) -> Result<Vec<ActivityOption>, AppError> {
    let study = form.study_id.trim().parse::<i64>().ok();
    Ok(sqlx::query_as!(
        ActivityOption,
        r#"select a.id, a.district_code, a.held_on::text as "held_on!", a.kind, a.place
           from activities a
           where a.district_code = $1 and ($2 or a.district_code = any($3))
             and (a.study_id = $4 or a.study_id is null)
           order by a.held_on desc, a.id desc"#,
        form.district_code,
        policy::writes_everywhere(user),
        &user.districts,
        study,
    )
    .fetch_all(pool)
    .await?)
}

/// The empty form, or (from its "show the activities" button) the form as
/// typed, redrawn with the activities of the district and study chosen.
pub async fn new_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    require(&user, Action::WriteCaseStudy, Scope::Anything)?;
    let mut form: CaseStudyForm = forms::from_query(query.as_deref())?;
    let mut choices = studies_places_authors(&pool, &user).await?;
    if form.study_id.is_empty() || form.district_code.is_empty() {
        form = CaseStudyForm {
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
            ..form
        };
    }
    choices.activities = activity_options(&pool, &user, &form).await?;
    FormPage {
        ctx,
        case_study_id: None,
        form,
        errors: FieldErrors::default(),
        choices,
        sections: SECTIONS,
        mechanisms: MECHANISMS,
        theirs: None,
    }
    .answer()
}

pub async fn create(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Form(form): Form<CaseStudyForm>,
) -> Result<Response, AppError> {
    require(&user, Action::WriteCaseStudy, Scope::Anything)?;
    let once_key = once::key(&form.once_key);
    let choices = choices(&pool, &user, &form).await?;
    let refuse = |form, errors, choices, refusal: fn(&FormPage) -> AppError| {
        Err(refusal(&FormPage {
            ctx,
            case_study_id: None,
            form,
            errors,
            choices,
            sections: SECTIONS,
            mechanisms: MECHANISMS,
            theirs: None,
        }))
    };
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => return refuse(form, errors, choices, AppError::invalid),
    };
    let mut tx = pool.begin().await?;
    if let Some(first) = once::claim(&mut tx, once_key.as_deref(), user.id).await? {
        return once::already_saved(&session, &first).await;
    }
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
        return refuse(form, errors, choices, AppError::stale);
    };
    save_parts(&mut tx, id, &valid).await?;
    revisions::record(&mut tx, "case_study", id, 1, user.id, &valid.snapshot()).await?;
    audit::record(
        &mut *tx,
        case_study_event(&user, "case_study_created", id, &valid, ip),
    )
    .await?;
    let location = format!("/case-studies/{id}");
    once::done(&mut tx, once_key.as_deref(), &location).await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&location).into_response())
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

/// The case study as stored, in the shape of the form.
async fn stored_form(pool: &PgPool, view: &CaseStudyView) -> Result<CaseStudyForm, AppError> {
    let activities = sqlx::query_scalar!(
        "select id::text as \"id!\" from activities where case_study_id = $1",
        view.id
    )
    .fetch_all(pool)
    .await?;
    let mut form = CaseStudyForm {
        study_id: view.study_id.to_string(),
        district_code: view.district_code.clone(),
        author_organization_id: view.author_organization_id.to_string(),
        title_en: view.title_en.clone(),
        title_km: view.title_km.clone(),
        text: Sections {
            sections: [
                view.summary.clone(),
                view.context.clone(),
                view.findings.clone(),
                view.good_practices.clone(),
                view.challenges.clone(),
                view.conclusion.clone(),
            ],
            ..Sections::default()
        },
        activities,
        version: view.version.to_string(),
        ..CaseStudyForm::default()
    };
    for (index, (_, assessment)) in view.mechanisms().into_iter().enumerate() {
        form.text.mechanisms[index] = assessment;
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
    if view.status != Status::Draft {
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
    let view = editable(&pool, &user, id).await?;
    let form = stored_form(&pool, &view).await?;
    FormPage {
        ctx,
        case_study_id: Some(id),
        choices: choices(&pool, &user, &form).await?,
        form,
        errors: FieldErrors::default(),
        sections: SECTIONS,
        mechanisms: MECHANISMS,
        theirs: None,
    }
    .answer()
}

pub async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<CaseStudyForm>,
) -> Result<Response, AppError> {
    editable(&pool, &user, id).await?;
    let choices = choices(&pool, &user, &form).await?;
    let lang = ctx.lang;
    let refuse = |form, errors, choices, theirs, refusal: fn(&FormPage) -> AppError| {
        Err(refusal(&FormPage {
            ctx,
            case_study_id: Some(id),
            form,
            errors,
            choices,
            sections: SECTIONS,
            mechanisms: MECHANISMS,
            theirs,
        }))
    };
    let valid = match form.parse(&choices) {
        Ok(valid) => valid,
        Err(errors) => {
            return refuse(form, errors, choices, None, AppError::invalid);
        }
    };
    let expected = Version::parse(&form.version)?;
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
         where id = $12 and version = $13 and status = 'draft'
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
        expected.number(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(version) = version else {
        drop(tx);
        let theirs =
            crate::revisions::differences(&pool, lang, "case_study", id, &valid.snapshot()).await?;
        let current_version = load(&pool, id).await?.version.to_string();
        let kept = CaseStudyForm {
            version: current_version,
            ..form
        };
        return refuse(
            kept,
            FieldErrors::default(),
            choices,
            Some(theirs),
            AppError::stale,
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
