//! `/activities`: focus group discussions, interviews and meetings with their
//! participant counts by group and sex, and the anonymized findings heard there.
//! NGO staff record them in their organization's districts.

mod delete;
pub(crate) mod edit;
mod finding_changes;
pub(crate) mod findings;
pub mod form;
pub mod list;
pub mod participants;
pub mod show;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/activities", get(list::list).post(edit::create))
        .route("/activities/new", get(edit::new_form))
        .route("/activities/{id}", get(show::show).post(edit::update))
        .route("/activities/{id}/edit", get(edit::edit_form))
        .route("/activities/{id}/findings", post(findings::create))
        .route("/activities/{id}/delete", post(delete::delete))
        .route("/activities/{id}/revisions", get(show::history))
        .route("/activities/{id}/revisions/{version}", get(show::revision))
        .route(
            "/findings/{id}/edit",
            get(finding_changes::edit_form).post(finding_changes::update),
        )
        .route("/findings/{id}/delete", post(finding_changes::delete))
        .route("/findings/{id}/redact", post(finding_changes::redact))
        .route("/findings/{id}/revisions", get(finding_changes::history))
        .route(
            "/findings/{id}/revisions/{version}",
            get(finding_changes::revision),
        )
}
