//! The case study's workflow: draft → in_review → published → archived, and
//! in_review → draft when the secretariat returns it with a comment. Each step
//! is one transaction and one audit event; a step the current state does not
//! allow changes nothing.

use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Deserialize;
use sqlx::PgPool;

use super::Status;
use crate::audit::{self, Event};
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::AppError;
use crate::notifications;
use crate::web::forms::Form;
use crate::web::{Actor, flash};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Submit,
    Publish,
    Return,
    Archive,
}

impl Step {
    /// (from, to) states.
    pub fn states(self) -> (Status, Status) {
        match self {
            Step::Submit => (Status::Draft, Status::InReview),
            Step::Publish => (Status::InReview, Status::Published),
            Step::Return => (Status::InReview, Status::Draft),
            Step::Archive => (Status::Published, Status::Archived),
        }
    }

    fn action(self) -> Action {
        match self {
            Step::Submit => Action::WriteCaseStudy,
            Step::Publish | Step::Return | Step::Archive => Action::ReviewCaseStudy,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Step::Submit => "case_study_submitted",
            Step::Publish => "case_study_published",
            Step::Return => "case_study_returned",
            Step::Archive => "case_study_archived",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    comment: String,
    /// When publishing: the day it was really published, if not today (the
    /// 2021 case studies are entered after the fact).
    #[serde(default)]
    published_on: String,
}

/// The publication date a publishing form gives, if any: a real date, not in
/// the future.
fn publication_date(text: &str) -> Result<Option<time::Date>, AppError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut errors = crate::web::forms::FieldErrors::default();
    let date = crate::web::forms::date(&mut errors, "published_on", text)
        .filter(|date| *date <= crate::format::today())
        .ok_or(AppError::Refused("error-publication-date"))?;
    Ok(Some(date))
}

/// Moves the case study one step, if its state and the user allow it;
/// `published_on` dates a publication other than today.
pub async fn take_step(
    pool: &PgPool,
    user: &CurrentUser,
    id: i64,
    step: Step,
    (comment, published_on): (&str, Option<time::Date>),
    ip: Option<String>,
) -> Result<(), AppError> {
    let comment = comment.trim();
    let mut tx = pool.begin().await?;
    let current = sqlx::query!(
        r#"select status as "status: Status", district_code from case_studies where id = $1 for update"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    require(user, step.action(), Scope::District(&current.district_code))?;
    if step == Step::Return && comment.is_empty() {
        return Err(AppError::Refused("error-comment-required"));
    }
    if comment.chars().count() > 5_000 {
        return Err(AppError::Refused("error-comment-too-long"));
    }
    let (from, to) = step.states();
    if current.status != from {
        return Err(AppError::IllegalTransition);
    }
    sqlx::query!(
        "update case_studies set status = $2,
                review_comment = case when $3 = '' then review_comment else $3 end,
                published_at = case when $2 = 'published'
                                    then coalesce(($4::date + time '12:00') at time zone 'Asia/Phnom_Penh', now())
                                    else published_at end,
                updated_at = now()
         where id = $1",
        id,
        to.code(),
        comment,
        published_on,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            actor_id: Some(user.id),
            action: step.name(),
            entity: "case_study",
            entity_id: Some(id.to_string()),
            summary: format!(
                "{} → {}{}",
                from.code(),
                to.code(),
                if comment.is_empty() {
                    String::new()
                } else {
                    format!(": {comment}")
                }
            ),
            ip,
        },
    )
    .await?;
    let told = match step {
        Step::Submit => Some(notifications::Event::CaseStudyInReview(id)),
        Step::Publish => Some(notifications::Event::CaseStudyPublished(id)),
        Step::Return => Some(notifications::Event::CaseStudyReturned(id)),
        Step::Archive => None,
    };
    if let Some(event) = told {
        notifications::tell(&mut tx, user, event).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn step(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
    step: Step,
) -> Result<Redirect, AppError> {
    let published_on = match step {
        Step::Publish => publication_date(&form.published_on)?,
        _ => None,
    };
    take_step(&pool, &user, id, step, (&form.comment, published_on), ip).await?;
    flash(
        &session,
        &format!("case-study-{}", step.states().1.code().replace('_', "-")),
        "",
    )
    .await?;
    Ok(Redirect::to(&format!("/case-studies/{id}")))
}

pub async fn submit(
    actor: Actor,
    pool: State<PgPool>,
    id: Path<i64>,
    form: Form<CommentForm>,
) -> Result<Redirect, AppError> {
    step(actor, pool, id, form, Step::Submit).await
}

pub async fn publish(
    actor: Actor,
    pool: State<PgPool>,
    id: Path<i64>,
    form: Form<CommentForm>,
) -> Result<Redirect, AppError> {
    step(actor, pool, id, form, Step::Publish).await
}

/// Returns the case study to its authors; the comment says why.
pub async fn send_back(
    actor: Actor,
    pool: State<PgPool>,
    id: Path<i64>,
    form: Form<CommentForm>,
) -> Result<Redirect, AppError> {
    step(actor, pool, id, form, Step::Return).await
}

pub async fn archive(
    actor: Actor,
    pool: State<PgPool>,
    id: Path<i64>,
    form: Form<CommentForm>,
) -> Result<Redirect, AppError> {
    step(actor, pool, id, form, Step::Archive).await
}
