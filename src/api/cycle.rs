//! The district cycle's records in `/api/v1`, each a page at a time with the
//! dashboard's filters: case studies, findings, recommendation lists with
//! their endorsement (and its fingerprint) and priorities, actions with their
//! latest report; and the partnership agreements the owner may read. Each
//! reads what the pages and the exports show the token's owner.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::activities::{ListQuery, checked};
use super::auth::ApiUser;
use super::page::{ApiQuery, json, people};
use super::problem::{ListAnswers, Problem};
use crate::auth::policy;
use crate::auth::reader::Reader;
use crate::disclosure::{BySex, Count};
use crate::state::AppState;

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
    params(ListQuery),
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
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
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
    params(ListQuery),
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
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
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

#[derive(Debug, Serialize, ToSchema)]
pub struct Action {
    pub id: i64,
    pub plan_id: i64,
    pub plan_title: String,
    pub province_code: String,
    /// None for a province-level plan.
    pub district_code: Option<String>,
    pub description_en: String,
    pub description_km: String,
    pub owner: String,
    pub starts_on: String,
    pub due_on: String,
    pub budget_riel: i64,
    /// not_started, in_progress, completed, blocked, cancelled: from the latest report.
    pub status: String,
    pub progress: i32,
    pub reported_on: Option<String>,
    pub overdue: bool,
    /// The latest report's note, where the owner may read it.
    pub note: String,
    pub recommendation_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionPage {
    pub data: Vec<Action>,
    pub next_cursor: Option<String>,
}

/// The actions of the joint action plans, with their latest progress report.
#[utoipa::path(
    get,
    path = "/api/v1/actions",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of actions", body = ActionPage),
        ListAnswers
    )
)]
pub async fn actions(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let internal = policy::internal_text_scope(&caller.user);
    let mut data: Vec<Action> = sqlx::query!(
        r#"select a.id as "id!", a.plan_id as "plan_id!",
                  coalesce(nullif(p.title_en, ''), p.title_km) as "plan_title!",
                  a.province_code as "province_code!", a.district_code,
                  x.description_en, x.description_km, o.name_en as owner,
                  x.starts_on, x.due_on, x.budget_riel,
                  a.status as "status!", a.progress as "progress!", a.reported_on,
                  (a.due_on < $6 and a.status not in ('completed', 'cancelled')) as "overdue!",
                  coalesce((select u.note from action_updates u
                            where u.id = a.update_id
                              and (not u.internal or $7 or a.district_code = any($8))), '') as "note!",
                  array(select ar.recommendation_id from action_recommendations ar
                        where ar.action_id = a.id order by 1) as "recommendation_ids!"
           from current_actions($1, $2, $3, $4, $5) a
           join actions x on x.id = a.id
           join action_plans p on p.id = a.plan_id
           join organizations o on o.id = x.owner_organization_id
           where ($9::bigint is null or p.study_id in (select st.id from studies st where st.project_id = $9))
             and a.id > $10
           order by a.id limit $11"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        crate::format::today(),
        internal.everywhere,
        &internal.any_districts(),
        s.project,
        window.after,
        window.fetch(),
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| Action {
        id: row.id,
        plan_id: row.plan_id,
        plan_title: row.plan_title,
        province_code: row.province_code,
        district_code: row.district_code,
        description_en: row.description_en,
        description_km: row.description_km,
        owner: row.owner,
        starts_on: row.starts_on.to_string(),
        due_on: row.due_on.to_string(),
        budget_riel: row.budget_riel,
        status: row.status,
        progress: row.progress,
        reported_on: row.reported_on.map(|day| day.to_string()),
        overdue: row.overdue,
        note: row.note,
        recommendation_ids: row.recommendation_ids,
    })
    .collect();
    let next_cursor = window.next(&mut data, |action| action.id);
    Ok(json(&headers, &ActionPage { data, next_cursor }))
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
    params(ListQuery),
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
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
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

/// A progress report on an action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionUpdate {
    pub id: i64,
    pub action_id: i64,
    pub reported_on: String,
    /// not_started, in_progress, completed, blocked, cancelled.
    pub status: String,
    pub progress: i32,
    /// Empty where the note is internal and the owner may not read it.
    pub note: String,
    /// The organization that reported it.
    pub reporter: Option<String>,
    /// Is it confirmed by the other side of the joint plan?
    pub confirmed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionUpdatePage {
    pub data: Vec<ActionUpdate>,
    pub next_cursor: Option<String>,
}

/// Every progress report of the actions, by id: their history, where
/// `/actions` gives the latest.
#[utoipa::path(
    get,
    path = "/api/v1/action-updates",
    params(ListQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of progress reports", body = ActionUpdatePage),
        ListAnswers
    )
)]
pub async fn action_updates(
    caller: ApiUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    let (s, window) = checked(&state, &caller, &query).await?;
    let internal = policy::internal_text_scope(&caller.user);
    let mut data: Vec<ActionUpdate> = sqlx::query!(
        r#"select u.id, u.action_id, u.reported_on, u.status, u.progress,
                  case when not u.internal or $6 or a.district_code = any($7) then u.note else '' end as "note!",
                  o.name_en as "reporter?", u.confirmed_at is not null as "confirmed!"
           from current_actions($1, $2, $3, $4, $5) a
           join action_plans p on p.id = a.plan_id
           join action_updates u on u.action_id = a.id
           left join organizations o on o.id = u.reporter_organization_id
           where ($8::bigint is null or p.study_id in (select st.id from studies st where st.project_id = $8))
             and u.id > $9
           order by u.id limit $10"#,
        s.study,
        s.province,
        s.district,
        s.from,
        s.to,
        internal.everywhere,
        &internal.any_districts(),
        s.project,
        window.after,
        window.fetch(),
    )
    .fetch_all(&state.pool)
    .await?
    .into_iter()
    .map(|row| ActionUpdate {
        id: row.id,
        action_id: row.action_id,
        reported_on: row.reported_on.to_string(),
        status: row.status,
        progress: row.progress,
        note: row.note,
        reporter: row.reporter,
        confirmed: row.confirmed,
    })
    .collect();
    let next_cursor = window.next(&mut data, |update| update.id);
    Ok(json(&headers, &ActionUpdatePage { data, next_cursor }))
}
