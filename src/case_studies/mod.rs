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

use crate::app::AppState;

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
