//! `/api/v1/case-studies` and `/api/v1/findings`: what the field work gave,
//! as the pages and the exports show it to the token's owner: the case
//! studies with their participants, and the anonymized findings (donors only
//! those marked public).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiUser;
use super::page::{ApiQuery, ListQuery, checked, json, list_query, one_of, people};
use super::problem::{ListAnswers, Problem};
use crate::auth::policy;
use crate::auth::reader::Reader;
use crate::disclosure::{BySex, Count};
use crate::state::AppState;

list_query! {
    /// The dashboard's filters, the page, and the case studies page's own.
    CaseStudyQuery {
        /// draft, in_review, published, archived.
        status,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseStudy {
    pub id: i64,
    pub study_id: i64,
    pub district_code: String,
    pub title_en: String,
    pub title_km: String,
    pub author: String,
    /// draft, in_review, published, archived.
    pub status: String,
    /// The day it was published, YYYY-MM-DD, if it was.
    pub published_on: Option<String>,
    pub activities: i64,
    pub participants: Option<i64>,
    pub female: Option<i64>,
    pub rounded: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseStudyPage {
    pub data: Vec<CaseStudy>,
    pub next_cursor: Option<String>,
}

/// Case studies, one per district and study, with the field work linked to them.
#[utoipa::path(
    get,
    path = "/api/v1/case-studies",
    params(CaseStudyQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of case studies", body = CaseStudyPage),
        ListAnswers
    )
)]
pub async fn case_studies(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<CaseStudyQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let statuses = crate::case_studies::Status::ALL.map(|status| status.code());
    let status = one_of(&query.status, &statuses)?;
    let reader = Reader::of(&caller.user, &s.district);
    let rows = sqlx::query!(
        r#"select c.id as "id!", c.study_id as "study_id!", c.district_code as "district_code!",
                  c.title_en as "title_en!", c.title_km as "title_km!", o.name_en as author,
                  c.status as "status!", c.published_at,
                  t.activities as "activities!", t.participants as "participants!", t.female as "female!",
                  t.rounded_participants as "rounded_participants!", t.rounded_female as "rounded_female!"
           from visible_case_studies($1, $2, $3, $4, $5, $6, $7) c
           cross join lateral (
               select count(*) as activities, coalesce(sum(a.participants), 0) as participants,
                      coalesce(sum(a.participants_female), 0) as female,
                      coalesce(sum(a.rounded_participants), 0) as rounded_participants,
                      coalesce(sum(a.rounded_participants_female), 0) as rounded_female
               from activities a where a.case_study_id = c.id
           ) t
           join organizations o on o.id = c.author_organization_id
           where ($8::bigint is null or c.study_id in (select st.id from studies st where st.project_id = $8))
             and ($11 = '' or c.status = $11)
             and c.id > $9
           order by c.id limit $10"#,
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
    let mut data: Vec<CaseStudy> = rows
        .into_iter()
        .map(|row| {
            let blurred = reader.blurs_in(&row.district_code);
            let counts = BySex::of_total(
                Count::new(row.female, row.rounded_female),
                Count::new(row.participants, row.rounded_participants),
                blurred,
            );
            CaseStudy {
                id: row.id,
                study_id: row.study_id,
                district_code: row.district_code,
                title_en: row.title_en,
                title_km: row.title_km,
                author: row.author,
                status: row.status,
                published_on: row
                    .published_at
                    .map(|at| crate::format::local_date(at).to_string()),
                activities: row.activities,
                participants: people(counts.total),
                female: people(counts.female),
                rounded: blurred,
            }
        })
        .collect();
    let next_cursor = window.next(&mut data, |case| case.id);
    Ok(json(&headers, &CaseStudyPage { data, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Finding {
    pub id: i64,
    pub activity_id: i64,
    pub district_code: String,
    /// The kind of the activity it was heard at.
    pub kind: String,
    pub held_on: String,
    pub text_en: String,
    pub text_km: String,
    /// A quote, anonymized, and who said it in general terms ("a woman farmer").
    pub quote: String,
    pub quote_descriptor: String,
    pub themes: Vec<String>,
    /// Marked for everyone, donors included.
    pub public: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingPage {
    pub data: Vec<Finding>,
    pub next_cursor: Option<String>,
}

/// Anonymized findings of the activities the owner may read; donors only
/// those marked public, as in the exports.
#[utoipa::path(
    get,
    path = "/api/v1/findings",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of findings", body = FindingPage),
        ListAnswers
    )
)]
pub async fn findings(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let reader = Reader::of(&caller.user, &s.district);
    let internal = policy::internal_text_scope(&caller.user);
    let mut data: Vec<Finding> = sqlx::query!(
        r#"select f.id, f.activity_id, a.district_code as "district_code!", a.kind as "kind!",
                  a.held_on as "held_on!", f.text_en, f.text_km, f.quote, f.quote_descriptor, f.public,
                  array(select t.name_en from finding_themes ft join themes t on t.id = ft.theme_id
                        where ft.finding_id = f.id order by t.position) as "themes!"
           from visible_activities($1, $2, $3, $4, $5, $6, $7) a
           join findings f on f.activity_id = a.id
           where (f.public or reads_internal_text(a.district_code, a.kind, $8, $9, $10))
             and ($11::bigint is null or a.study_id in (select st.id from studies st where st.project_id = $11))
             and f.id > $12
           order by f.id limit $13"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        reader.everywhere,
        &reader.own_districts,
        internal.everywhere,
        &internal.districts,
        &internal.meeting_districts,
        s.project,
        window.after,
        window.fetch(),
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| Finding {
        id: row.id,
        activity_id: row.activity_id,
        district_code: row.district_code,
        kind: row.kind,
        held_on: row.held_on.to_string(),
        text_en: row.text_en,
        text_km: row.text_km,
        quote: row.quote,
        quote_descriptor: row.quote_descriptor,
        themes: row.themes,
        public: row.public,
    })
    .collect();
    let next_cursor = window.next(&mut data, |finding| finding.id);
    Ok(json(&headers, &FindingPage { data, next_cursor }))
}
