//! `/studies/{id}/print`: the study's report whole, as CPDD publishes it on
//! paper (A4): the summary, then each district's case study and endorsed list,
//! with headings in English and Khmer.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::report;
use crate::auth::session::CurrentUser;
use crate::error::{AppError, render};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::web::Ctx;

/// The whole report on paper: the summary, then each district's case study and
/// endorsed list, with headings in both languages.
#[derive(Template)]
#[template(path = "studies/print.html")]
struct PrintPage {
    ctx: Ctx,
    title_en: String,
    title_km: String,
    report: report::Report,
    printed: Arc<report::Printed>,
}

impl PrintPage {
    /// A heading in English and Khmer.
    fn both(&self, key: &str) -> String {
        format!("{} · {}", Lang::En.t(key), Lang::Km.t(key))
    }

    /// The endorsed recommendations of `district` (the list is sorted by district).
    fn recommendations_of(&self, district: &str) -> &[report::PrintedRecommendation] {
        crate::web::run_of(&self.printed.recommendations, district, |item| {
            &item.district_code
        })
    }
}

/// `/studies/{id}/print`: the report as CPDD publishes it, for A4 paper.
pub(super) async fn print(
    ctx: Ctx,
    user: CurrentUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let study = sqlx::query!("select title_en, title_km from studies where id = $1", id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let report = report::load(&state, &user, id).await?;
    let printed = report::printed(&state, id, &report.reader).await?;
    Ok(render(&PrintPage {
        ctx,
        title_en: study.title_en,
        title_km: study.title_km,
        report,
        printed,
    })?
    .into_response())
}
