//! `/api/v1/agreements`: the partnership agreements the owner may read.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::page::{ApiQuery, checked, json, list_query, one_of, optional_id};
use super::problem::{ListAnswers, Problem};
use crate::auth::policy;
use crate::state::AppState;

list_query! {
    /// The dashboard's filters, the page, and the agreements page's own.
    AgreementQuery {
        /// An organization's id: the agreements it is party to.
        partner,
        /// draft, signed, ended, expired.
        status,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Agreement {
    pub id: i64,
    /// mou, grant_agreement, letter_of_intent, contract, other.
    pub kind: String,
    pub title_en: String,
    pub title_km: String,
    pub project_id: Option<i64>,
    pub signed_on: Option<String>,
    pub valid_until: Option<String>,
    /// draft, signed, ended, expired.
    pub status: String,
    pub parties: Vec<String>,
    pub provinces: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementPage {
    pub data: Vec<Agreement>,
    pub next_cursor: Option<String>,
}

/// The partnership agreements the owner may read: those their organization
/// is party to, through its projects, or of a published project.
#[utoipa::path(
    get,
    path = "/api/v1/agreements",
    params(AgreementQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of agreements", body = AgreementPage),
        ListAnswers
    )
)]
pub async fn agreements(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<AgreementQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let partner = optional_id(&query.partner)?;
    let status = one_of(&query.status, &crate::agreements::STATUSES)?;
    let mut data: Vec<Agreement> = sqlx::query!(
        r#"select a.id, a.kind, a.title_en, a.title_km, a.project_id, a.signed_on, a.valid_until, a.status,
                  array(select o.name_en from agreement_parties ap join organizations o on o.id = ap.organization_id
                        where ap.agreement_id = a.id order by o.name_en) as "parties!",
                  array(select v.province_code from agreement_provinces v
                        where v.agreement_id = a.id order by 1) as "provinces!"
           from agreements a left join projects p on p.id = a.project_id
           where ($1 or coalesce(p.published, false) or takes_part_in_agreement(a.id, $2))
             and ($3::bigint is null or a.project_id = $3)
             and ($4 = '' or exists (select 1 from agreement_provinces v
                                     where v.agreement_id = a.id and v.province_code = $4))
             and ($5::date is null or coalesce(a.valid_until, a.signed_on) is null
                  or coalesce(a.valid_until, a.signed_on) >= $5)
             and ($6::date is null or a.signed_on is null or a.signed_on <= $6)
             and ($9::bigint is null or exists (select 1 from agreement_parties ap
                                                where ap.agreement_id = a.id and ap.organization_id = $9))
             and ($10 = '' or a.status = $10)
             and a.id > $7
           order by a.id limit $8"#,
        policy::reads_every_programme(&caller.user),
        caller.user.organization_id,
        s.project,
        s.province,
        s.from,
        s.to,
        window.after,
        window.fetch(),
        partner,
        status,
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| Agreement {
        id: row.id,
        kind: row.kind,
        title_en: row.title_en,
        title_km: row.title_km,
        project_id: row.project_id,
        signed_on: row.signed_on.map(|day| day.to_string()),
        valid_until: row.valid_until.map(|day| day.to_string()),
        status: row.status,
        parties: row.parties,
        provinces: row.provinces,
    })
    .collect();
    let next_cursor = window.next(&mut data, |agreement| agreement.id);
    Ok(json(&headers, &AgreementPage { data, next_cursor }))
}
