//! Endorsements given on signed paper (the 2021 cycle): the secretariat records
//! the day the district gave it, the endorser's name and position, and the
//! scanned letter, which is required. The list is frozen and fingerprinted as
//! an online endorsement is, and every page says it was given on paper and who
//! recorded it.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use object_store::path::Path as StorePath;
use time::Date;

use super::ListStatus;
use super::show::{self, ListView};
use super::workflow::{freeze, lock_for, mark_endorsed, step_event};
use crate::attachments::{self, NewAttachment};
use crate::audit;
use crate::auth::policy::{Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::format::today;
use crate::notifications;
use crate::state::AppState;
use crate::web::forms::{self, FieldErrors};
use crate::web::{Actor, Ctx, flash, once};

/// The states a list may be endorsed on paper from: written and perhaps sent.
const ENDORSABLE: [ListStatus; 2] = [ListStatus::Draft, ListStatus::Submitted];

#[derive(Debug, Default)]
struct PaperForm {
    given_on: String,
    endorser_name: String,
    endorser_position: String,
}

impl PaperForm {
    fn from_fields(fields: Vec<(String, String)>) -> PaperForm {
        let mut form = PaperForm::default();
        for (name, value) in fields {
            match name.as_str() {
                "given_on" => form.given_on = value,
                "endorser_name" => form.endorser_name = value,
                "endorser_position" => form.endorser_position = value,
                _ => {}
            }
        }
        form
    }

    /// The day given (a real day, not in the future), the name and position.
    fn check(&self, errors: &mut FieldErrors) -> Option<(Date, String, String)> {
        let given_on = forms::date(errors, "given_on", &self.given_on);
        if given_on.is_some_and(|day| day > today()) {
            errors.add("given_on", "error-paper-date");
        }
        let name = forms::required_text(errors, "endorser_name", &self.endorser_name, 200);
        let position =
            forms::required_text(errors, "endorser_position", &self.endorser_position, 200);
        given_on.map(|day| (day, name, position))
    }
}

#[derive(Template)]
#[template(path = "recommendations/paper.html")]
struct PaperPage {
    ctx: Ctx,
    list: ListView,
    form: PaperForm,
    errors: FieldErrors,
    max_bytes: usize,
}

impl PaperPage {
    fn letter_error(&self) -> Option<String> {
        self.errors.get("letter").map(|key| {
            let size = format!("{} MB", self.max_bytes / (1024 * 1024));
            self.ctx.lang.t_with(key, &[("value", size)])
        })
    }
}

/// Loads the list after checking that `user` may record its endorsement.
async fn recordable(state: &AppState, user: &CurrentUser, id: i64) -> Result<ListView, AppError> {
    let list = show::load(&state.pool, id).await?;
    require(
        user,
        Action::SubmitRecommendations,
        Scope::District(&list.district_code),
    )?;
    Ok(list)
}

/// Refuses a list that does not wait for an endorsement.
fn endorsable(list: ListView) -> Result<ListView, AppError> {
    if !ENDORSABLE.contains(&list.status) {
        return Err(AppError::IllegalTransition);
    }
    Ok(list)
}

pub async fn form(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let list = endorsable(recordable(&state, &user, id).await?)?;
    render(&PaperPage {
        ctx,
        list,
        form: PaperForm::default(),
        errors: FieldErrors::default(),
        max_bytes: state.files.max_bytes,
    })
    .map(IntoResponse::into_response)
}

pub async fn record(
    ctx: Ctx,
    Actor { user, session, ip }: Actor,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let list = recordable(&state, &user, id).await?;
    let upload = attachments::read_upload(
        multipart.map_err(|_| AppError::BadRequest)?,
        state.files.max_bytes,
    )
    .await?;
    let once_key = once::key_of(&upload.fields);
    // Sent again, the list is endorsed already: lead to it before the checks
    // that would refuse a second endorsement.
    if let Some(first) = once::led_before(&state.pool, once_key.as_deref(), user.id).await? {
        return once::already_saved(&session, &first).await;
    }
    let list = endorsable(list)?;
    let form = PaperForm::from_fields(upload.fields);
    let mut errors = FieldErrors::default();
    let checked = form.check(&mut errors);
    if upload.too_large {
        errors.add("letter", "attachment-too-large");
    } else if upload.bytes.is_empty() {
        errors.add("letter", "error-paper-letter");
    }
    let too_large = upload.too_large;
    let refuse = |errors| {
        let page = PaperPage {
            ctx,
            list,
            form,
            errors,
            max_bytes: state.files.max_bytes,
        };
        if too_large {
            return Ok((StatusCode::PAYLOAD_TOO_LARGE, render(&page)?).into_response());
        }
        Err(AppError::invalid(&page))
    };
    let (Some((given_on, name, position)), true) = (checked, errors.is_empty()) else {
        return refuse(errors);
    };
    let size = upload.bytes.len() as i64;
    let Some((stored_name, content_type)) = attachments::store(&state.files, upload.bytes).await?
    else {
        errors.add("letter", "attachment-wrong-type");
        return refuse(errors);
    };
    let letter = NewAttachment {
        stored_name: &stored_name,
        content_type,
        size,
        caption: &format!("{name}, {position} · {given_on}"),
        public: true,
    };
    let paper = Paper {
        given_on,
        name: &name,
        position: &position,
        letter: &letter,
    };
    let endorsed = endorse(&state, (&user, once_key), id, &paper, ip).await;
    if !matches!(endorsed, Ok(None)) {
        // No file without its record.
        let location = StorePath::from(format!("attachments/{stored_name}"));
        state.files.store.delete(&location).await.ok();
    }
    if let Some(first) = endorsed? {
        return once::already_saved(&session, &first).await;
    }
    flash(&session, "recommendations-endorsed", "").await?;
    Ok(Redirect::to(&format!("/recommendation-lists/{id}")).into_response())
}

/// A paper endorsement that passed every check, its letter in the store.
struct Paper<'a> {
    given_on: Date,
    name: &'a str,
    position: &'a str,
    letter: &'a NewAttachment<'a>,
}

/// Freezes the list and records the endorsement with its letter, in one
/// transaction; the list's state is checked again under its lock. `Some`
/// of where the first led when the same form (a double click) got there
/// first.
async fn endorse(
    state: &AppState,
    (user, once_key): (&CurrentUser, Option<String>),
    id: i64,
    paper: &Paper<'_>,
    ip: Option<String>,
) -> Result<Option<String>, AppError> {
    let mut tx = state.pool.begin().await?;
    if let Some(first) = once::claim(&mut tx, once_key.as_deref(), user.id).await? {
        return Ok(Some(first));
    }
    let list = lock_for(
        &mut tx,
        user,
        id,
        Action::SubmitRecommendations,
        &ENDORSABLE,
    )
    .await?;
    let items = sqlx::query_scalar!(
        r#"select count(*) as "count!" from recommendations where list_id = $1"#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if items == 0 {
        return Err(AppError::Refused("error-list-empty"));
    }
    let letter = attachments::insert(
        &mut tx,
        ("recommendation_list", id),
        user,
        paper.letter,
        ip.clone(),
    )
    .await?;
    let (snapshot, fingerprint) = freeze(&mut tx, id).await?;
    sqlx::query!(
        "insert into endorsements (list_id, transition, actor_id, actor_name, actor_position, snapshot, fingerprint,
                                   given_on, letter_attachment_id)
         values ($1, 'endorsed', $2, $3, $4, $5, $6, $7, $8)",
        id,
        user.id,
        paper.name,
        paper.position,
        snapshot,
        fingerprint,
        paper.given_on,
        letter,
    )
    .execute(&mut *tx)
    .await?;
    mark_endorsed(&mut tx, id, list.previous_id).await?;
    let summary = format!(
        "endorsed on paper on {} by {}; sha256 {fingerprint}",
        paper.given_on, paper.name
    );
    audit::record(&mut *tx, step_event(user, id, summary, ip)).await?;
    notifications::tell(&mut tx, user, notifications::Event::ListEndorsed(id)).await?;
    let location = format!("/recommendation-lists/{id}");
    once::done(&mut tx, once_key.as_deref(), &location).await?;
    tx.commit().await?;
    Ok(None)
}
