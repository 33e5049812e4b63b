//! `/recommendation-lists`: the joint list of recommendations of one district for
//! one study, produced at a joint SNA–CSO consultation, endorsed online by the
//! district's own officials, frozen once endorsed, and reopened as a new version.

mod changes;
mod items;
mod lists;
mod paper;
pub mod priorities;
mod priority_form;
mod show;
pub mod snapshot;
mod workflow;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;

/// Where a recommendation list is in its workflow: drafted, submitted for
/// endorsement, returned (to be edited and submitted again), endorsed, and
/// superseded once a reopened version is endorsed. Stored as its `code` in
/// `recommendation_lists.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ListStatus {
    Draft,
    Submitted,
    Returned,
    Endorsed,
    Superseded,
}

impl ListStatus {
    pub const ALL: [ListStatus; 5] = [
        ListStatus::Draft,
        ListStatus::Submitted,
        ListStatus::Returned,
        ListStatus::Endorsed,
        ListStatus::Superseded,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ListStatus::Draft => "draft",
            ListStatus::Submitted => "submitted",
            ListStatus::Returned => "returned",
            ListStatus::Endorsed => "endorsed",
            ListStatus::Superseded => "superseded",
        }
    }

    /// Endorsed, now or before a newer version: readable beyond its district.
    pub fn is_endorsed(self) -> bool {
        matches!(self, ListStatus::Endorsed | ListStatus::Superseded)
    }

    /// Open to edits of its recommendations.
    pub fn is_editable(self) -> bool {
        matches!(self, ListStatus::Draft | ListStatus::Returned)
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/recommendation-lists",
            get(lists::list).post(lists::create),
        )
        .route("/recommendation-lists/new", get(lists::new_form))
        .route("/recommendation-lists/{id}", get(show::show))
        .route("/recommendation-lists/{id}/print", get(show::print))
        .route("/recommendation-lists/{id}/snapshot", get(show::snapshot))
        .route(
            "/recommendation-lists/{id}/changes",
            get(changes::changes_page),
        )
        .route(
            "/recommendation-lists/{id}/recommendations",
            post(items::create),
        )
        .route(
            "/recommendation-lists/{id}/recommendations/{item}",
            get(items::edit_form).post(items::update),
        )
        .route(
            "/recommendation-lists/{id}/recommendations/{item}/delete",
            post(items::delete),
        )
        .route(
            "/recommendation-lists/{id}/recommendations/{item}/move",
            post(items::move_item),
        )
        .route("/recommendation-lists/{id}/submit", post(workflow::submit))
        .route(
            "/recommendation-lists/{id}/endorse",
            post(workflow::endorse),
        )
        .route(
            "/recommendation-lists/{id}/return",
            post(workflow::send_back),
        )
        .route("/recommendation-lists/{id}/reopen", post(workflow::reopen))
        .route(
            "/recommendation-lists/{id}/consultation",
            post(lists::set_consultation),
        )
        .route(
            "/recommendation-lists/{id}/endorse-on-paper",
            get(paper::form)
                .post(paper::record)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/recommendation-lists/{id}/withdraw",
            post(workflow::withdraw),
        )
        .route(
            "/provinces/{code}/recommendations",
            get(priorities::province),
        )
        .route("/recommendations/national", get(priorities::national))
        .route("/recommendations/{id}/priorities", post(priority_form::set))
}

pub const ADDRESSEES: [&str; 5] = ["sna", "cso", "joint", "province", "national"];
