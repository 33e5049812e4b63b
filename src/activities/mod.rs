//! `/activities`: focus group discussions, interviews and meetings with their
//! participant counts by group and sex, and the anonymized findings heard there.
//! NGO staff record them in their organization's districts.

mod findings;
pub mod form;
pub mod pages;
pub mod participants;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/activities", get(pages::list).post(pages::create))
        .route("/activities/new", get(pages::new_form))
        .route("/activities/{id}", get(pages::show).post(pages::update))
        .route("/activities/{id}/edit", get(pages::edit_form))
        .route("/activities/{id}/findings", post(findings::create))
        .route("/activities/{id}/revisions/{version}", get(pages::revision))
}
