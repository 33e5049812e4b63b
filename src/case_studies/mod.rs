//! `/case-studies`: one civic-engagement case study per district and study,
//! written in Markdown sections, assessing the district's engagement mechanisms,
//! drawing on linked activities; reviewed and published by the secretariat.

mod delete;
mod edit;
mod form;
mod links;
mod list;
mod show;
mod workflow;

/// The narrative sections of a case study, in order.
pub use form::SECTIONS;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// Where a case study is in its workflow: written as a draft, reviewed,
/// published (and later archived, still published); a review may return it
/// to draft. Stored as its `code` in `case_studies.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Status {
    Draft,
    InReview,
    Published,
    Archived,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Draft,
        Status::InReview,
        Status::Published,
        Status::Archived,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InReview => "in_review",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }

    /// Readable beyond its district (`case_study_published` in SQL).
    pub fn is_published(self) -> bool {
        matches!(self, Status::Published | Status::Archived)
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/case-studies", get(list::list).post(edit::create))
        .route("/case-studies/new", get(edit::new_form))
        .route("/case-studies/{id}", get(show::show).post(edit::update))
        .route("/case-studies/{id}/edit", get(edit::edit_form))
        .route("/case-studies/{id}/revisions", get(show::history))
        .route(
            "/case-studies/{id}/revisions/{version}",
            get(show::revision),
        )
        .route("/case-studies/{id}/submit", post(workflow::submit))
        .route("/case-studies/{id}/activities", post(links::set_activities))
        .route("/case-studies/{id}/delete", post(delete::delete))
        .route("/case-studies/{id}/publish", post(workflow::publish))
        .route("/case-studies/{id}/return", post(workflow::send_back))
        .route("/case-studies/{id}/archive", post(workflow::archive))
}
