//! `/activities/import`: field data brought in without retyping, from the
//! spreadsheet template filled in (XLSX or CSV) or from a KoboToolbox / ODK
//! export of the XLSForm. A file is checked row by row and previewed; nothing
//! is saved until the user confirms, and then all of it is or none.

mod check;
mod columns;
mod confirm;
mod kept;
mod lookup;
mod pages;
mod preview;
mod sheet;
pub mod submission;
mod template;
mod upload;
pub mod xlsform;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        // The body was read within the upload limit before the handler runs
        // (`web::csrf::protect`); axum's own default limit would cut it shorter.
        .route(
            "/activities/import",
            get(pages::start)
                .post(upload::upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/activities/import/template.xlsx", get(pages::template))
        .route("/activities/import/samleng-fgd.xlsx", get(pages::xlsform))
        .route("/activities/import/{id}", get(preview::show))
        .route("/activities/import/{id}/confirm", post(confirm::confirm))
}
