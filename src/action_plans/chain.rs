//! The evidence chain, both ways: `/recommendations/{id}` shows the findings a
//! recommendation rests on (with their activities and participants), its list and
//! endorsement, its priorities and the actions implementing it with their latest
//! progress; `/findings/{id}` links forward to the recommendations it implements.
//! This is the page a donor opens to see what happened to what citizens said.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use super::{ActionStatus, is_overdue};
use crate::auth::policy::{self, Action, Scope};
use crate::auth::require;
use crate::auth::session::CurrentUser;
use crate::disclosure::{BySex, Count};
use crate::error::{AppError, render};
use crate::format;
use crate::format::today;
use crate::recommendations::ListStatus;
use crate::web::Ctx;

pub struct RecommendationView {
    /// Findings cited as evidence, whoever may read them.
    pub evidence_cited: i64,
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
    pub theme_en: Option<String>,
    pub theme_km: Option<String>,
    pub list_id: i64,
    pub list_status: ListStatus,
    pub list_version: i32,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub endorsed_by: Option<String>,
    pub endorser_position: Option<String>,
    pub endorsed_at: Option<OffsetDateTime>,
    pub endorsed_on_paper: Option<time::Date>,
    pub endorsement_recorded_by: Option<String>,
    pub fingerprint: Option<String>,
    pub provincial_rank: Option<i32>,
    pub national_rank: Option<i32>,
}

impl RecommendationView {
    pub fn endorsed_text(&self) -> String {
        self.endorsed_at.map(format::timestamp).unwrap_or_default()
    }
}

pub struct EvidenceRow {
    pub id: i64,
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
    pub activity_id: i64,
    pub kind: String,
    pub held_on: Date,
    pub total: i32,
    pub female: i32,
    /// The same as outsiders see them (`disclosure`).
    pub rounded_total: i32,
    pub rounded_female: i32,
}

impl EvidenceRow {
    /// The participants of the finding's activity, as the reader may see them.
    pub fn participants(&self, blurred: bool) -> BySex {
        BySex::of_total(
            Count::new(self.female, self.rounded_female),
            Count::new(self.total, self.rounded_total),
            blurred,
        )
    }
}

pub struct ImplementingAction {
    pub id: i64,
    pub description_en: String,
    pub description_km: String,
    pub owner: String,
    pub due_on: Date,
    pub status: ActionStatus,
    pub progress: i32,
}

impl RecommendationPage {
    /// "2 more findings cited are internal …", when the reader may not read them.
    fn internal_evidence(&self) -> Option<String> {
        let hidden = self.recommendation.evidence_cited - self.evidence.len() as i64;
        (hidden > 0).then(|| {
            self.ctx
                .lang
                .t_with("chain-evidence-internal", &[("count", hidden.to_string())])
        })
    }
}

#[derive(Template)]
#[template(path = "action_plans/recommendation.html")]
struct RecommendationPage {
    ctx: Ctx,
    recommendation: RecommendationView,
    /// The evidence with its activity's participants as the reader may see them.
    evidence: Vec<(EvidenceRow, BySex)>,
    actions: Vec<ImplementingAction>,
    overdue: Vec<bool>,
}

pub async fn recommendation(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let recommendation = sqlx::query_as!(
        RecommendationView,
        r#"select (select count(*) from recommendation_evidence c where c.recommendation_id = r.id) as "evidence_cited!",
                  r.text_en, r.text_km, r.addressee, t.name_en as "theme_en?", t.name_km as "theme_km?",
                  l.id as list_id, l.status as "list_status: ListStatus", l.list_version, l.district_code,
                  d.name_en as district_en, d.name_km as district_km,
                  e.actor_name as "endorsed_by?", e.actor_position as "endorser_position?", e.at as "endorsed_at?",
                  e.given_on as "endorsed_on_paper?", recorder.display_name as "endorsement_recorded_by?",
                  e.fingerprint as "fingerprint?",
                  (select rank from priorities p where p.recommendation_id = r.id and p.level = 'provincial') as provincial_rank,
                  (select rank from priorities p where p.recommendation_id = r.id and p.level = 'national') as national_rank
           from recommendations r
           join recommendation_lists l on l.id = r.list_id
           join districts d on d.code = l.district_code
           left join themes t on t.id = r.theme_id
           left join endorsements e on e.list_id = l.id and e.transition = 'endorsed'
           left join users recorder on recorder.id = e.actor_id
           where r.id = $1"#,
        id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require(
        &user,
        Action::ReadRecommendations,
        Scope::Record {
            district: &recommendation.district_code,
            published: recommendation.list_status.is_endorsed(),
        },
    )?;
    let internal = policy::internal_text_scope(&user);
    let evidence = sqlx::query_as!(
        EvidenceRow,
        r#"select f.id, f.text_en, f.text_km, f.quote, f.quote_descriptor, a.id as activity_id, a.kind, a.held_on,
                  a.participants as total, a.participants_female as female,
                  a.rounded_participants as rounded_total, a.rounded_participants_female as rounded_female
           from recommendation_evidence e
           join findings f on f.id = e.finding_id
           join activities a on a.id = f.activity_id
           where e.recommendation_id = $1
             and (f.public or reads_internal_text(a.district_code, a.kind, $2, $3, $4))
           order by a.held_on, f.id"#,
        id,
        internal.everywhere,
        &internal.districts,
        &internal.meeting_districts,
    )
    .fetch_all(&pool)
    .await?;
    let actions = sqlx::query_as!(
        ImplementingAction,
        r#"select a.id, a.description_en, a.description_km, o.name_en as owner, a.due_on,
                  a.status as "status!: ActionStatus", a.progress as "progress!"
           from action_recommendations ar
           join actions a on a.id = ar.action_id
           join organizations o on o.id = a.owner_organization_id
           where ar.recommendation_id = $1 order by a.due_on, a.id"#,
        id
    )
    .fetch_all(&pool)
    .await?;
    let today = today();
    let overdue = actions
        .iter()
        .map(|a| is_overdue(a.due_on, a.status, today))
        .collect();
    let blurred = !policy::allows(
        &user,
        Action::ReadSmallCounts,
        Scope::District(&recommendation.district_code),
    );
    let evidence = evidence
        .into_iter()
        .map(|row| {
            let participants = row.participants(blurred);
            (row, participants)
        })
        .collect();
    render(&RecommendationPage {
        ctx,
        recommendation,
        evidence,
        actions,
        overdue,
    })
    .map(IntoResponse::into_response)
}

pub struct FindingView {
    pub text_en: String,
    pub text_km: String,
    pub quote: String,
    pub quote_descriptor: String,
    pub public: bool,
    pub activity_id: i64,
    pub kind: String,
    pub held_on: Date,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub published: bool,
    pub themes_en: Vec<String>,
    pub themes_km: Vec<String>,
}

pub struct SupportedRecommendation {
    pub id: i64,
    pub text_en: String,
    pub text_km: String,
    pub status: ListStatus,
}

#[derive(Template)]
#[template(path = "action_plans/finding.html")]
struct FindingPage {
    ctx: Ctx,
    finding: FindingView,
    recommendations: Vec<SupportedRecommendation>,
}

pub async fn finding(
    ctx: Ctx,
    user: CurrentUser,
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let finding = sqlx::query_as!(
        FindingView,
        r#"select f.text_en, f.text_km, f.quote, f.quote_descriptor, f.public, a.id as activity_id, a.kind,
                  a.held_on, a.district_code, d.name_en as district_en, d.name_km as district_km,
                  coalesce(case_study_published(c.status), false) as "published!",
                  array(select t.name_en from finding_themes ft join themes t on t.id = ft.theme_id
                        where ft.finding_id = f.id order by t.position) as "themes_en!",
                  array(select t.name_km from finding_themes ft join themes t on t.id = ft.theme_id
                        where ft.finding_id = f.id order by t.position) as "themes_km!"
           from findings f join activities a on a.id = f.activity_id
           join districts d on d.code = a.district_code
           left join case_studies c on c.id = a.case_study_id
           where f.id = $1"#,
        id
    )
    .fetch_optional(&pool)
    .await?
    .ok_or(AppError::NotFound)?;
    require(
        &user,
        Action::ReadActivity,
        Scope::Record {
            district: &finding.district_code,
            published: finding.published,
        },
    )?;
    if !finding.public {
        require(
            &user,
            Action::ReadInternalText,
            Scope::FieldWork {
                district: &finding.district_code,
                citizens_only: policy::citizens_only(&finding.kind),
            },
        )?;
    }
    let unpublished = policy::allows(
        &user,
        Action::ReadRecommendations,
        Scope::District(&finding.district_code),
    );
    let recommendations = sqlx::query_as!(
        SupportedRecommendation,
        r#"select r.id, r.text_en, r.text_km, l.status as "status: ListStatus" from recommendation_evidence e
         join recommendations r on r.id = e.recommendation_id
         join recommendation_lists l on l.id = r.list_id
         where e.finding_id = $1 and ($2 or l.status in ('endorsed', 'superseded'))
         order by l.list_version desc, r.position"#,
        id,
        unpublished
    )
    .fetch_all(&pool)
    .await?;
    render(&FindingPage {
        ctx,
        finding,
        recommendations,
    })
    .map(IntoResponse::into_response)
}
