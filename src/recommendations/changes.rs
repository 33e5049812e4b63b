//! What changed from a list's previous version, recommendation by
//! recommendation.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use super::show::{ItemView, ListView, items, readable};
use crate::auth::policy;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::web::Ctx;

/// One difference between a version and the one before it.
pub struct Change {
    pub kind: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What changed from the previous version, recommendation by recommendation in
/// list order: `changed`, `added` or `removed`.
fn changes(before: &[ItemView], after: &[ItemView]) -> Vec<Change> {
    let describe = |item: &ItemView| {
        format!("{} {} ({})", item.text_en, item.text_km, item.addressee)
            .trim()
            .to_owned()
    };
    let mut changes = Vec::new();
    for index in 0..before.len().max(after.len()) {
        match (
            before.get(index).map(describe),
            after.get(index).map(describe),
        ) {
            (Some(old), Some(new)) if old != new => changes.push(Change {
                kind: "changed",
                before: Some(old),
                after: Some(new),
            }),
            (Some(old), None) => changes.push(Change {
                kind: "removed",
                before: Some(old),
                after: None,
            }),
            (None, Some(new)) => changes.push(Change {
                kind: "added",
                before: None,
                after: Some(new),
            }),
            _ => {}
        }
    }
    changes
}

#[derive(Template)]
#[template(path = "recommendations/changes.html")]
struct ChangesPage {
    ctx: Ctx,
    list: ListView,
    previous_id: i64,
    changes: Vec<Change>,
}

/// The page that shows what changed between a version and the previous one.
pub async fn changes_page(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let list = readable(&pool, &user, id).await?;
    let previous_id = list.previous_id.ok_or(AppError::NotFound)?;
    let internal = policy::internal_text_scope(&user);
    let before = items(&pool, previous_id, &internal).await?;
    let after = items(&pool, id, &internal).await?;
    render(&ChangesPage {
        changes: changes(&before, &after),
        ctx,
        list,
        previous_id,
    })
    .map(IntoResponse::into_response)
}
