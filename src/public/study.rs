//! `/public/studies/{id}`: one study's results for anyone. Who took part
//! (small counts blurred), the district map, the published case studies, each
//! endorsed list with its endorsement and fingerprint, the provincial and
//! national priorities, and each action plan's actions with their status.
//! Organizations are named; people are not.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use sqlx::PgPool;

use super::{PublicReader, PublicStudy, Rendered, cached, ctx};
use crate::action_plans::{ActionStatus, Lead};
use crate::dashboard::map::{self, Map};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::state::AppState;
use crate::studies::report::{self, Report};
use crate::web::Ctx;

/// One recommendation of an endorsed list, with what became of it.
pub struct PublicRecommendation {
    pub list_id: i64,
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub endorsed_at: time::OffsetDateTime,
    pub given_on: Option<time::Date>,
    pub endorser_position: String,
    pub fingerprint: String,
    pub position: i32,
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
    pub theme_en: Option<String>,
    pub theme_km: Option<String>,
    pub provincial_rank: Option<i32>,
    pub national_rank: Option<i32>,
    /// The actions planned for it, and how many of them are completed.
    pub actions: i64,
    pub actions_completed: i64,
}

impl PublicRecommendation {
    /// "endorsed", "planned" (an action takes it up) or "done" (all of them completed).
    pub fn status(&self) -> &'static str {
        match (self.actions, self.actions_completed) {
            (0, _) => "endorsed",
            (all, done) if done == all => "done",
            _ => "planned",
        }
    }

    /// The day it was endorsed: the day given on paper, else the online one.
    pub fn endorsed_on(&self) -> time::Date {
        self.given_on
            .unwrap_or(crate::format::local_date(self.endorsed_at))
    }

    pub fn endorsed_how(&self) -> &'static str {
        if self.given_on.is_some() {
            "paper"
        } else {
            "online"
        }
    }
}

/// The endorsed recommendations of a study, in district and list order.
pub async fn recommendations(
    pool: &PgPool,
    study: i64,
    district: Option<&str>,
) -> Result<Vec<PublicRecommendation>, sqlx::Error> {
    sqlx::query_as!(
        PublicRecommendation,
        r#"select l.id as list_id, l.district_code, d.name_en as district_en, d.name_km as district_km,
                  e.at as endorsed_at, e.given_on, e.actor_position as endorser_position,
                  e.fingerprint as "fingerprint!",
                  r.position, r.text_en, r.text_km, r.addressee,
                  t.name_en as "theme_en?", t.name_km as "theme_km?",
                  (select p.rank from priorities p
                   where p.recommendation_id = r.id and p.level = 'provincial') as provincial_rank,
                  (select p.rank from priorities p
                   where p.recommendation_id = r.id and p.level = 'national') as national_rank,
                  (select count(*) from action_recommendations ar
                   where ar.recommendation_id = r.id) as "actions!",
                  (select count(*) from action_recommendations ar join actions a on a.id = ar.action_id
                   where ar.recommendation_id = r.id and a.status = 'completed') as "actions_completed!"
           from recommendation_lists l
           join districts d on d.code = l.district_code
           join endorsements e on e.list_id = l.id and e.transition = 'endorsed'
           join recommendations r on r.list_id = l.id
           left join themes t on t.id = r.theme_id
           where l.study_id = $1 and l.status = 'endorsed'
             and ($2::text is null or l.district_code = $2)
           order by l.district_code, r.position, r.id"#,
        study,
        district
    )
    .fetch_all(pool)
    .await
}

/// One action of a plan of the study.
pub struct PublicAction {
    pub plan_id: i64,
    pub plan_title_en: String,
    pub plan_title_km: String,
    pub district_code: Option<String>,
    pub district_en: Option<String>,
    pub district_km: Option<String>,
    pub action_id: i64,
    pub description_en: String,
    pub description_km: String,
    pub lead: Lead,
    pub owner: String,
    pub starts_on: time::Date,
    pub due_on: time::Date,
    pub status: ActionStatus,
    pub progress: i32,
}

/// The actions of the study's plans, plan by plan, by due date: all of them,
/// one district's (`Some(code)`), or the province's own (`Some("")`).
pub async fn actions(
    pool: &PgPool,
    study: i64,
    district: Option<&str>,
) -> Result<Vec<PublicAction>, sqlx::Error> {
    sqlx::query_as!(
        PublicAction,
        r#"select p.id as plan_id, p.title_en as plan_title_en, p.title_km as plan_title_km,
                  p.district_code, d.name_en as "district_en?", d.name_km as "district_km?",
                  a.id as action_id, a.description_en, a.description_km, a.lead as "lead: Lead",
                  o.name_en as owner, a.starts_on, a.due_on, a.status as "status: ActionStatus", a.progress
           from action_plans p
           left join districts d on d.code = p.district_code
           join actions a on a.plan_id = p.id
           join organizations o on o.id = a.owner_organization_id
           where p.study_id = $1
             and ($2::text is null or p.district_code = $2 or ($2 = '' and p.district_code is null))
           order by p.district_code nulls first, p.id, a.due_on, a.id"#,
        study,
        district
    )
    .fetch_all(pool)
    .await
}

/// The actions grouped by plan, each with its average progress (cancelled
/// actions left out, as everywhere).
pub(super) fn plans(actions: &[PublicAction]) -> Vec<PlanShown<'_>> {
    let mut plans: Vec<PlanShown<'_>> = Vec::new();
    for action in actions {
        match plans.last_mut() {
            Some(plan) if plan.first.plan_id == action.plan_id => plan.actions.push(action),
            _ => plans.push(PlanShown {
                first: action,
                actions: vec![action],
                progress: None,
            }),
        }
    }
    for plan in &mut plans {
        let counted: Vec<i64> = plan
            .actions
            .iter()
            .filter(|action| action.status != ActionStatus::Cancelled)
            .map(|action| i64::from(action.progress))
            .collect();
        plan.progress = (!counted.is_empty())
            .then(|| (counted.iter().sum::<i64>() as f64 / counted.len() as f64).round() as i64);
    }
    plans
}

/// A plan as the page shows it: its actions, and their average progress.
pub struct PlanShown<'a> {
    pub first: &'a PublicAction,
    pub actions: Vec<&'a PublicAction>,
    pub progress: Option<i64>,
}

pub(super) async fn study(pool: &PgPool, id: i64) -> Result<Option<PublicStudy>, sqlx::Error> {
    sqlx::query_as!(
        PublicStudy,
        "select s.id, s.province_code, s.title_en, s.title_km, p.name_en as province_en,
                p.name_km as province_km, s.period_start, s.period_end, s.licence
         from studies s join provinces p on p.code = s.province_code
         where s.id = $1 and s.public_since is not null",
        id
    )
    .fetch_optional(pool)
    .await
}

/// A prioritized recommendation, for the study's page.
pub struct Ranked {
    pub rank: i32,
    pub text_en: String,
    pub text_km: String,
    pub district_en: String,
    pub district_km: String,
}

/// The twenty highest priorities of each level (the rest are in the open
/// data), provincial then national.
async fn top_priorities(
    pool: &PgPool,
    study: i64,
) -> Result<(Vec<Ranked>, Vec<Ranked>), sqlx::Error> {
    let rows = sqlx::query!(
        r#"select level as "level!", rank as "rank!", text_en as "text_en!", text_km as "text_km!",
                  district_en as "district_en!", district_km as "district_km!"
           from (select p.level, p.rank, r.text_en, r.text_km, d.name_en as district_en,
                        d.name_km as district_km,
                        row_number() over (partition by p.level order by p.rank, r.id) as place
                 from priorities p
                 join recommendations r on r.id = p.recommendation_id
                 join recommendation_lists l on l.id = r.list_id
                 join districts d on d.code = l.district_code
                 where l.study_id = $1 and l.status = 'endorsed') ranked
           where place <= 20
           order by level desc, place"#,
        study
    )
    .fetch_all(pool)
    .await?;
    let (mut provincial, mut national) = (Vec::new(), Vec::new());
    for row in rows {
        let ranked = Ranked {
            rank: row.rank,
            text_en: row.text_en,
            text_km: row.text_km,
            district_en: row.district_en,
            district_km: row.district_km,
        };
        if row.level == "national" {
            national.push(ranked);
        } else {
            provincial.push(ranked);
        }
    }
    Ok((provincial, national))
}

/// What a link preview says of a study: how far it got.
async fn description(
    pool: &PgPool,
    ctx: &Ctx,
    study: i64,
    districts: usize,
) -> Result<String, sqlx::Error> {
    let counts = sqlx::query!(
        r#"select (select count(*) from recommendation_lists l
                   where l.study_id = $1 and l.status = 'endorsed') as "lists!",
                  (select count(*) from recommendations r join recommendation_lists l on l.id = r.list_id
                   where l.study_id = $1 and l.status = 'endorsed') as "recommendations!",
                  (select count(*) from actions a join action_plans p on p.id = a.plan_id
                   where p.study_id = $1) as "actions!""#,
        study
    )
    .fetch_one(pool)
    .await?;
    Ok(ctx.lang.t_with(
        "public-study-description",
        &[
            ("districts", districts.to_string()),
            ("lists", counts.lists.to_string()),
            ("recommendations", counts.recommendations.to_string()),
            ("actions", counts.actions.to_string()),
        ],
    ))
}

#[derive(Template)]
#[template(path = "public/study.html")]
struct StudyPage {
    ctx: Ctx,
    study: PublicStudy,
    description: String,
    report: Report,
    map: Option<Map>,
    provincial: Vec<Ranked>,
    national: Vec<Ranked>,
    /// The actions of plans for no one district (the province's).
    actions: Vec<PublicAction>,
}

impl StudyPage {
    fn plans(&self) -> Vec<PlanShown<'_>> {
        plans(&self.actions)
    }

    fn plans_heading(&self) -> &'static str {
        "public-provincial-plans"
    }

    fn levels(&self) -> [(&'static str, &[Ranked]); 2] {
        [
            ("provincial", &self.provincial),
            ("national", &self.national),
        ]
    }
}

/// `/public/studies/{id}`: 404 unless the study is public.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let loader = state.clone();
    cached(&state, &uri, &headers, async |lang: Lang| {
        let pool = &loader.pool;
        let Some(study) = study(pool, id).await? else {
            return Ok(None);
        };
        let ctx = ctx(lang, &format!("/public/studies/{id}"));
        let report = report::load(&loader, &PublicReader, id).await?;
        let people = report.figures.people(report.reader.blurs_small_counts);
        let map = map::draw("participants", &report.figures, &people, &ctx);
        let (provincial, national) = top_priorities(pool, id).await?;
        let page = StudyPage {
            description: description(pool, &ctx, id, report.districts.len()).await?,
            provincial,
            national,
            actions: actions(pool, id, Some("")).await?,
            ctx,
            study,
            map,
            report,
        };
        Ok::<_, AppError>(Some(Rendered::html(&page)?))
    })
    .await
}
