//! `/public/studies/{id}/districts/{code}`: one district of a public study,
//! for anyone: its case study, its endorsed list with how it was endorsed and
//! its fingerprint, and its action plans.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::study::{
    PlanShown, PublicAction, PublicRecommendation, actions, plans, recommendations, study,
};
use super::{PublicReader, PublicStudy, Rendered, cached, ctx};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;
use crate::studies::report::{self, PrintedCase};
use crate::web::Ctx;

#[derive(Template)]
#[template(path = "public/district.html")]
struct DistrictPage {
    ctx: Ctx,
    study: PublicStudy,
    district_en: String,
    district_km: String,
    cases: Vec<PrintedCase>,
    recommendations: Vec<PublicRecommendation>,
    actions: Vec<PublicAction>,
}

impl DistrictPage {
    /// The recommendations of each endorsed list.
    fn lists(&self) -> Vec<Vec<&PublicRecommendation>> {
        let mut lists: Vec<Vec<&PublicRecommendation>> = Vec::new();
        for recommendation in &self.recommendations {
            match lists.last_mut() {
                Some(list) if list[0].list_id == recommendation.list_id => {
                    list.push(recommendation)
                }
                _ => lists.push(vec![recommendation]),
            }
        }
        lists
    }

    fn plans_heading(&self) -> &'static str {
        "nav-action-plans"
    }

    fn plans(&self) -> Vec<PlanShown<'_>> {
        plans(&self.actions)
    }
}

/// `/public/studies/{id}/districts/{code}`: one district's case study,
/// endorsed list and action plan; 404 unless the study is public and the
/// district is in its province.
pub async fn district(
    State(state): State<AppState>,
    Path((id, code)): Path<(i64, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let loader = state.clone();
    cached(&state, &uri, &headers, async |lang: Lang| {
        let pool = &loader.pool;
        let Some(study) = study(pool, id).await? else {
            return Ok(None);
        };
        let Some(names) = sqlx::query!(
            "select name_en, name_km from districts where code = $1 and left(code, 2) = (
                 select province_code from studies where id = $2)",
            code,
            id
        )
        .fetch_optional(pool)
        .await?
        else {
            return Ok(None);
        };
        let reader = crate::auth::reader::Reader::of(&PublicReader, "");
        let cases = report::printed_cases(pool, id, &reader).await?;
        let page = DistrictPage {
            ctx: ctx(lang, &format!("/public/studies/{id}/districts/{code}")),
            study,
            district_en: names.name_en,
            district_km: names.name_km,
            cases: cases
                .into_iter()
                .filter(|case| case.district_code == code)
                .collect(),
            recommendations: recommendations(pool, id, Some(&code)).await?,
            actions: actions(pool, id, Some(&code)).await?,
        };
        Ok::<_, AppError>(Some(Rendered::html(&page)?))
    })
    .await
}
