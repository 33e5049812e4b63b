//! `/api/v1/recommendation-lists`: the current version of each district's
//! list, with its endorsement (and the fingerprint of what was endorsed) and
//! the priorities the workshops gave.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::page::{ApiQuery, checked, json, list_query, one_of};
use super::problem::{ListAnswers, Problem};
use crate::auth::reader::Reader;
use crate::state::AppState;

/// How a list was endorsed: online by a district official, or recorded from
/// a signed paper.
#[derive(Debug, Serialize, ToSchema)]
pub struct Endorsement {
    pub endorsed_on: String,
    /// online, paper.
    pub how: String,
    pub by: String,
    pub position: String,
    /// The SHA-256 of the list as endorsed: anyone can check a copy against it.
    pub fingerprint: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendation {
    pub id: i64,
    pub position: i32,
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
    pub theme: Option<String>,
    pub provincial_rank: Option<i32>,
    pub national_rank: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationList {
    pub id: i64,
    pub version: i32,
    /// draft, submitted, returned, endorsed.
    pub status: String,
    pub study_id: i64,
    pub district_code: String,
    pub endorsement: Option<Endorsement>,
    pub recommendations: Vec<Recommendation>,
}

list_query! {
    /// The dashboard's filters, the page, and the lists page's own.
    RecommendationListQuery {
        /// draft, submitted, returned, endorsed, superseded.
        status,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationListPage {
    pub data: Vec<RecommendationList>,
    pub next_cursor: Option<String>,
}

/// The current version of each district's list of recommendations, with its
/// endorsement and the priorities given at the provincial and national workshops.
#[utoipa::path(
    get,
    path = "/api/v1/recommendation-lists",
    params(RecommendationListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of lists", body = RecommendationListPage),
        ListAnswers
    )
)]
pub async fn recommendation_lists(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<RecommendationListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let statuses = crate::recommendations::ListStatus::ALL.map(|status| status.code());
    let status = one_of(&query.status, &statuses)?;
    let reader = Reader::of(&caller.user, &s.district);
    let lists = sqlx::query!(
        r#"select l.id as "id!", l.list_version as "version!", l.status as "status!",
                  l.study_id as "study_id!", l.district_code as "district_code!",
                  coalesce(e.given_on, (e.at at time zone 'Asia/Phnom_Penh')::date) as "endorsed_on?",
                  case when e.given_on is not null then 'paper' else 'online' end as "how!",
                  e.actor_name as "by?", e.actor_position as "position?", e.fingerprint as "fingerprint?"
           from visible_recommendation_lists($1, $2, $3, $4, $5, $6, $7) l
           left join endorsements e on e.list_id = l.id and e.transition = 'endorsed'
           where ($8::bigint is null or l.study_id in (select st.id from studies st where st.project_id = $8))
             and ($11 = '' or l.status = $11)
             and l.id > $9
           order by l.id limit $10"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        reader.everywhere,
        &reader.own_districts,
        s.project,
        window.after,
        window.fetch(),
        status,
    )
    .fetch_all(&state.pool)
    .await?;
    let ids: Vec<i64> = lists.iter().map(|list| list.id).collect();
    let items = sqlx::query!(
        r#"select r.list_id, r.id, r.position, r.text_en, r.text_km, r.addressee,
                  t.name_en as "theme?", pp.rank as "provincial_rank?", np.rank as "national_rank?"
           from recommendations r
           left join themes t on t.id = r.theme_id
           left join priorities pp on pp.recommendation_id = r.id and pp.level = 'provincial'
           left join priorities np on np.recommendation_id = r.id and np.level = 'national'
           where r.list_id = any($1)
           order by r.list_id, r.position"#,
        &ids,
    )
    .fetch_all(&state.pool)
    .await?;
    let mut data: Vec<RecommendationList> = lists
        .into_iter()
        .map(|list| RecommendationList {
            recommendations: items
                .iter()
                .filter(|item| item.list_id == list.id)
                .map(|item| Recommendation {
                    id: item.id,
                    position: item.position,
                    text_en: item.text_en.clone(),
                    text_km: item.text_km.clone(),
                    addressee: item.addressee.clone(),
                    theme: item.theme.clone(),
                    provincial_rank: item.provincial_rank,
                    national_rank: item.national_rank,
                })
                .collect(),
            endorsement: match (list.endorsed_on, list.fingerprint) {
                (Some(on), Some(fingerprint)) => Some(Endorsement {
                    endorsed_on: on.to_string(),
                    how: list.how,
                    by: list.by.unwrap_or_default(),
                    position: list.position.unwrap_or_default(),
                    fingerprint,
                }),
                _ => None,
            },
            id: list.id,
            version: list.version,
            status: list.status,
            study_id: list.study_id,
            district_code: list.district_code,
        })
        .collect();
    let next_cursor = window.next(&mut data, |list| list.id);
    Ok(json(
        &headers,
        &RecommendationListPage { data, next_cursor },
    ))
}
