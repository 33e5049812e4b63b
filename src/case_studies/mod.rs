//! `/case-studies`: one civic-engagement case study per district and study,
//! written in Markdown sections, assessing the district's engagement mechanisms,
//! drawing on linked activities; reviewed and published by the secretariat.

mod form;
mod pages;
mod workflow;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/case-studies", get(pages::list).post(pages::create))
        .route("/case-studies/new", get(pages::new_form))
        .route("/case-studies/{id}", get(pages::show).post(pages::update))
        .route("/case-studies/{id}/edit", get(pages::edit_form))
        .route(
            "/case-studies/{id}/revisions/{version}",
            get(pages::revision),
        )
        .route("/case-studies/{id}/submit", post(workflow::submit))
        .route("/case-studies/{id}/publish", post(workflow::publish))
        .route("/case-studies/{id}/return", post(workflow::send_back))
        .route("/case-studies/{id}/archive", post(workflow::archive))
}
