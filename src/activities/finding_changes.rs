//! Correcting the record of what citizens said: a finding is edited (each save
//! a revision, stale saves refused), deleted while nothing cites it, or, when
//! it names someone by mistake, redacted by the secretariat: its text leaves the
//! finding and every revision of it, and "redacted by … on … (reason)" stays.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgPool;

use super::findings::FindingForm;
use super::show::theme_choices;
use crate::audit::{self, Event};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::deleted::{self, Kind};
use crate::error::{AppError, render};
use crate::revisions;
use crate::web::forms::{self, FieldErrors, Form};
use crate::web::versioned::{Field, Version};
use crate::web::{Actor, Ctx, flash};

/// A finding with what the policy needs to know of it.
struct Stored {
    activity_id: i64,
    district_code: String,
    kind: String,
    form: FindingForm,
    redacted: bool,
}

impl Stored {
    fn field_work(&self) -> Scope<'_> {
        Scope::FieldWork {
            district: &self.district_code,
            citizens_only: policy::citizens_only(&self.kind),
        }
    }
}

async fn load(pool: &PgPool, id: i64) -> Result<Stored, AppError> {
    let row = sqlx::query!(
        r#"select f.activity_id, a.district_code, a.kind, f.text_en, f.text_km, f.quote,
                  f.quote_descriptor, f.public, f.version, f.redacted_at is not null as "redacted!",
                  array(select ft.theme_id::text from finding_themes ft where ft.finding_id = f.id
                        order by ft.theme_id) as "themes!"
           from findings f join activities a on a.id = f.activity_id where f.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Stored {
        activity_id: row.activity_id,
        district_code: row.district_code,
        kind: row.kind,
        redacted: row.redacted,
        form: FindingForm {
            text_en: row.text_en,
            text_km: row.text_km,
            quote: row.quote,
            quote_descriptor: row.quote_descriptor,
            themes: row.themes,
            public: row.public,
            version: row.version.to_string(),
            once_key: String::new(),
        },
    })
}

/// Loads a finding that `user` may change: one of their districts' activities,
/// and not redacted (its text is gone).
async fn changeable(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<Stored, AppError> {
    let stored = load(pool, id).await?;
    require(
        user,
        Action::RecordActivity,
        Scope::District(&stored.district_code),
    )?;
    if stored.redacted {
        return Err(AppError::IllegalTransition);
    }
    Ok(stored)
}

#[derive(Template)]
#[template(path = "activities/finding_form.html")]
struct EditPage {
    ctx: Ctx,
    finding_id: i64,
    activity_id: i64,
    finding_form: FindingForm,
    finding_errors: FieldErrors,
    themes: Vec<(i64, String, String)>,
    theirs: Option<Vec<Field>>,
}

pub async fn edit_form(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let stored = changeable(&pool, &user, id).await?;
    render(&EditPage {
        ctx,
        finding_id: id,
        activity_id: stored.activity_id,
        finding_form: stored.form,
        finding_errors: FieldErrors::default(),
        themes: theme_choices(&pool).await?,
        theirs: None,
    })
    .map(IntoResponse::into_response)
}

pub async fn update(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<FindingForm>,
) -> Result<Response, AppError> {
    let stored = changeable(&pool, &user, id).await?;
    let themes = theme_choices(&pool).await?;
    let lang = ctx.lang;
    let page = |form, finding_errors, themes, theirs| EditPage {
        ctx,
        finding_id: id,
        activity_id: stored.activity_id,
        finding_form: form,
        finding_errors,
        themes,
        theirs,
    };
    let valid = match form.parse(&themes) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = page(form, errors, themes, None);
            return Err(AppError::invalid(&page));
        }
    };
    let expected = Version::parse(&form.version)?;
    let mut tx = pool.begin().await?;
    let version = sqlx::query_scalar!(
        "update findings set text_en = $2, text_km = $3, quote = $4, quote_descriptor = $5,
                             public = $6, version = version + 1
         where id = $1 and version = $7 and redacted_at is null
         returning version",
        id,
        valid.text_en,
        valid.text_km,
        valid.quote,
        valid.quote_descriptor,
        valid.public,
        expected.number(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let snapshot = valid.snapshot(&themes);
    let Some(version) = version else {
        drop(tx);
        let theirs = revisions::differences(&pool, lang, "finding", id, &snapshot).await?;
        let current = load(&pool, id).await?.form.version;
        let kept = FindingForm {
            version: current,
            ..form
        };
        let page = page(kept, FieldErrors::default(), themes, Some(theirs));
        return Err(AppError::stale(&page));
    };
    sqlx::query!("delete from finding_themes where finding_id = $1", id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into finding_themes (finding_id, theme_id) select $1, unnest($2::bigint[]) on conflict do nothing",
        id,
        &valid.themes,
    )
    .execute(&mut *tx)
    .await?;
    revisions::record(&mut tx, "finding", id, version, user.id, &snapshot).await?;
    audit::record(
        &mut *tx,
        event(&user, "finding_updated", id, stored.activity_id, ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "saved", "").await?;
    Ok(Redirect::to(&format!("/activities/{}#finding-{id}", stored.activity_id)).into_response())
}

/// Deletes a finding and its history. One that a recommendation cites is
/// evidence of that list: it can be corrected or redacted, not removed.
pub async fn delete(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let stored = changeable(&pool, &user, id).await?;
    let mut tx = pool.begin().await?;
    let cited = sqlx::query_scalar!(
        r#"select exists (select 1 from recommendation_evidence e where e.finding_id = f.id) as "cited!"
           from findings f where f.id = $1 for update"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    if cited {
        return Err(AppError::Refused("finding-cited"));
    }
    deleted::put(
        &mut tx,
        (Kind::Finding, id),
        (&user, &stored.district_code),
        ("finding_deleted", ip),
    )
    .await?;
    tx.commit().await?;
    flash(&session, "finding-deleted", "").await?;
    Ok(Redirect::to(&format!("/activities/{}#findings", stored.activity_id)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct RedactForm {
    #[serde(default)]
    reason: String,
}

/// Removes a finding's text, quote and descriptor from the finding and from
/// every revision of it, in one transaction; the reason is kept.
pub async fn redact(
    Actor { user, session, ip }: Actor,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
    Form(form): Form<RedactForm>,
) -> Result<Response, AppError> {
    require(&user, Action::RedactFinding, Scope::Anything)?;
    let stored = load(&pool, id).await?;
    let mut errors = FieldErrors::default();
    let reason = forms::required_text(&mut errors, "reason", &form.reason, 300);
    if !errors.is_empty() {
        return Err(AppError::Refused("finding-redact-reason-required"));
    }
    let mut tx = pool.begin().await?;
    let redacted = sqlx::query_scalar!(
        "update findings set text_en = '', text_km = '', quote = '', quote_descriptor = '',
                             redacted_at = now(), redacted_by = $2, redaction_reason = $3,
                             version = version + 1
         where id = $1 and redacted_at is null returning id",
        id,
        user.id,
        reason,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if redacted.is_none() {
        return Err(AppError::IllegalTransition);
    }
    sqlx::query!(
        "update revisions set snapshot = '{}', changed = '{}'
         where entity = 'finding' and entity_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Event {
            summary: format!("activity {}: {reason}", stored.activity_id),
            ..event(&user, "finding_redacted", id, stored.activity_id, ip)
        },
    )
    .await?;
    tx.commit().await?;
    flash(&session, "finding-redacted-done", "").await?;
    Ok(Redirect::to(&format!("/activities/{}#finding-{id}", stored.activity_id)).into_response())
}

/// A finding's saves, for those who read its internal text.
pub async fn history(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    readable_history(&pool, &user, id).await?;
    revisions::history_page(ctx, &pool, "finding", id, format!("/findings/{id}")).await
}

pub async fn revision(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path((id, version)): Path<(i64, i32)>,
) -> Result<Response, AppError> {
    readable_history(&pool, &user, id).await?;
    revisions::revision_page(
        ctx,
        &pool,
        "finding",
        id,
        version,
        format!("/findings/{id}"),
    )
    .await
}

async fn readable_history(pool: &PgPool, user: &CurrentUser, id: i64) -> Result<(), AppError> {
    let stored = load(pool, id).await?;
    require(user, Action::ReadInternalText, stored.field_work())
}

fn event(
    user: &CurrentUser,
    action: &'static str,
    id: i64,
    activity_id: i64,
    ip: Option<String>,
) -> Event<'static> {
    Event {
        actor_id: Some(user.id),
        action,
        entity: "finding",
        entity_id: Some(id.to_string()),
        summary: format!("activity {activity_id}"),
        ip,
    }
}
