//! The study's report, as CPDD publishes it: who took part (respondents and the
//! share of women, participants by group and sex, activities by kind), then a
//! line per district with its case study, its recommendation list and when it
//! was endorsed, its priorities and its action plan's progress. Counted from
//! the dashboard's figures, so every reader sees what they may read, with the
//! small-count rule.

use std::sync::Arc;

use sqlx::PgPool;

use crate::activities::form::{GROUPS, KINDS};
use crate::auth::policy::Principal;
use crate::auth::reader::Reader;
use crate::dashboard::figures::{self, Figures};
use crate::dashboard::people::People;
use crate::db::cache::GenerationCache;
use crate::disclosure::BySex;
use crate::error::AppError;
use crate::format;
use crate::state::AppState;
use crate::web::Ctx;
use crate::web::filters::Selection;

/// One district of the study, as the report's table shows it.
pub struct DistrictLine {
    pub code: String,
    pub name_en: String,
    pub name_km: String,
    pub case_study_id: Option<i64>,
    pub case_study_status: Option<String>,
    pub list_id: Option<i64>,
    pub list_status: Option<String>,
    pub endorsed_at: Option<time::OffsetDateTime>,
    /// The day given, when the endorsement was given on paper.
    pub endorsed_on_paper: Option<time::Date>,
    pub priorities: i64,
    pub plan_id: Option<i64>,
    pub plan_progress: Option<i32>,
}

impl DistrictLine {
    pub fn endorsed_text(&self) -> String {
        self.endorsed_at.map(format::timestamp).unwrap_or_default()
    }
}

/// The report's figures for `user`.
pub struct Report {
    /// Who reads it: what they may read decides what is counted and printed.
    pub reader: Reader,
    pub figures: Arc<Figures>,
    pub people: Arc<People>,
    pub districts: Arc<Vec<DistrictLine>>,
    pub headline: Headline,
}

/// The study's exact totals as published with its public pages (`publishing`):
/// none yet, withheld because they could give a small count back, or published.
pub struct Headline {
    pub at: Option<time::OffsetDateTime>,
    pub respondents: Option<i32>,
    pub respondents_female: Option<i32>,
}

impl Headline {
    /// "As published by the secretariat on …: 367 respondents, 209 of them women."
    pub fn text(&self, ctx: &Ctx) -> Option<String> {
        let (at, respondents, women) = (self.at?, self.respondents?, self.respondents_female?);
        Some(ctx.lang.t_with(
            "study-headline",
            &[
                ("when", format::timestamp(at)),
                ("respondents", respondents.to_string()),
                ("women", women.to_string()),
            ],
        ))
    }

    pub fn withheld(&self) -> bool {
        self.at.is_some() && self.respondents.is_none()
    }
}

impl Report {
    /// "Figures as of …": when these figures were counted.
    pub fn as_of(&self, ctx: &Ctx) -> String {
        ctx.lang.t_with(
            "figures-as-of",
            &[("when", format::timestamp(self.figures.as_of))],
        )
    }

    /// Respondents (FGDs and interviews) and all participants, by sex.
    pub fn respondents(&self) -> BySex {
        self.people.respondents
    }

    pub fn participants(&self) -> BySex {
        self.people.total()
    }

    /// Participants of each group, by sex.
    pub fn groups(&self) -> Vec<(&'static str, BySex)> {
        GROUPS
            .iter()
            .enumerate()
            .map(|(row, group)| (*group, self.people.group(row)))
            .collect()
    }

    /// Activities of each kind held for the study.
    pub fn kinds(&self) -> Vec<(&'static str, i64)> {
        KINDS
            .iter()
            .filter_map(|kind| {
                self.figures
                    .breakdown("kind")
                    .find(|row| row.key == *kind)
                    .map(|row| (*kind, row.first))
            })
            .collect()
    }
}

/// The report as `reader` may read it: a signed-in user, or the public reader.
pub async fn load(
    state: &AppState,
    reader: &impl Principal,
    study: i64,
) -> Result<Report, AppError> {
    let selection = Selection {
        study: Some(study),
        ..Selection::default()
    };
    let reader = Reader::of(reader, &selection.district);
    let today = crate::format::today();
    let figures = figures::figures(state, &selection, &reader, today).await?;
    let pool = &state.pool;
    let people = figures.people(reader.blurs_small_counts);
    let districts = state
        .kept("study_districts", DistrictsCache::large)
        .get(
            (study, reader.everywhere, reader.own_districts.clone()),
            async || district_lines(pool, study, reader.everywhere, &reader.own_districts).await,
        )
        .await?;
    let headline = sqlx::query_as!(
        Headline,
        r#"select headline_at as at, headline_respondents as respondents,
                  headline_respondents_female as respondents_female
           from studies where id = $1"#,
        study
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Report {
        reader,
        figures,
        people,
        districts,
        headline,
    })
}

/// A study's districts as a reader sees them (by study, unpublished material
/// everywhere, and the districts whose own drafts they read): kept until the
/// data changes, as reading them walks every list and plan of the study.
type DistrictsCache = GenerationCache<(i64, bool, Vec<String>), Vec<DistrictLine>>;

/// The study's districts, each with its case study, list and plan.
async fn district_lines(
    pool: &PgPool,
    study: i64,
    everywhere: bool,
    own_districts: &[String],
) -> Result<Vec<DistrictLine>, sqlx::Error> {
    sqlx::query_as!(
        DistrictLine,
        // Each part gathered once, by its study, then joined to the districts:
        // inlined, the lists were looked up district by district and took
        // twice as long at the xlarge scale.
        r#"with cases as materialized (
               select c.district_code, c.id, c.status
               from visible_case_studies($1, '', '', null, null, $2, $3) c
           ),
           lists as materialized (
               select l.district_code, l.id, l.status,
                      (select max(e.at) from endorsements e
                       where e.list_id = l.id and e.transition = 'endorsed') as endorsed_at,
                      (select max(e.given_on) from endorsements e
                       where e.list_id = l.id and e.transition = 'endorsed') as endorsed_on_paper,
                      (select count(*) from priorities p join recommendations r on r.id = p.recommendation_id
                       where r.list_id = l.id) as priorities
               from visible_recommendation_lists($1, '', '', null, null, $2, $3) l
           ),
           plans as materialized (
               select distinct on (p.district_code) p.district_code, p.id,
                      (select round(avg(a.progress))::int from actions a
                       where a.plan_id = p.id and a.status <> 'cancelled') as progress
               from action_plans p
               where p.study_id = $1 and p.district_code is not null
               order by p.district_code, p.id desc
           )
           select d.code, d.name_en, d.name_km,
                  c.id as "case_study_id?", c.status as "case_study_status?",
                  l.id as "list_id?", l.status as "list_status?", l.endorsed_at as "endorsed_at?", l.endorsed_on_paper as "endorsed_on_paper?",
                  coalesce(l.priorities, 0) as "priorities!",
                  p.id as "plan_id?", p.progress as "plan_progress?"
           from districts d
           left join cases c on c.district_code = d.code
           left join lists l on l.district_code = d.code
           left join plans p on p.district_code = d.code
           where c.id is not null or l.id is not null or p.id is not null
           order by d.code"#,
        study,
        everywhere,
        own_districts,
    )
    .fetch_all(pool)
    .await
}

/// A case study of the study, whole, for the printed report.
pub struct PrintedCase {
    pub district_code: String,
    pub district_en: String,
    pub district_km: String,
    pub title_en: String,
    pub title_km: String,
    pub status: String,
    /// The sections with text, as (name, sanitized HTML).
    pub sections: Vec<(&'static str, String)>,
}

/// A recommendation of an endorsed list, for the printed report.
pub struct PrintedRecommendation {
    pub district_code: String,
    pub text_en: String,
    pub text_km: String,
    pub addressee: String,
}

/// The case studies `reader` may read and the endorsed lists of the study.
/// What the printed report adds to the page: the case studies whole, and the
/// endorsed recommendations by district.
pub struct Printed {
    pub cases: Vec<PrintedCase>,
    pub recommendations: Vec<PrintedRecommendation>,
}

/// Kept until the data changes, by study and what the reader may read: the
/// sections of two hundred case studies are turned into HTML once.
type PrintedCache = GenerationCache<(i64, bool, Vec<String>), Printed>;

pub async fn printed(
    state: &AppState,
    study: i64,
    reader: &Reader,
) -> Result<Arc<Printed>, AppError> {
    let pool = &state.pool;
    let key = (study, reader.everywhere, reader.own_districts.clone());
    state
        .kept("printed_reports", |name, changes| {
            PrintedCache::with_capacity(name, changes, 4)
        })
        .get(key, async || {
            let cases = printed_cases(pool, study, reader).await?;
            let recommendations = sqlx::query_as!(
                PrintedRecommendation,
                "select l.district_code, r.text_en, r.text_km, r.addressee
                 from recommendation_lists l join recommendations r on r.list_id = l.id
                 where l.study_id = $1 and l.status = 'endorsed'
                 order by l.district_code, r.position, r.id",
                study
            )
            .fetch_all(pool)
            .await?;
            Ok(Printed {
                cases,
                recommendations,
            })
        })
        .await
}

/// The case studies of the study that `reader` may read, whole.
pub async fn printed_cases(
    pool: &PgPool,
    study: i64,
    reader: &Reader,
) -> Result<Vec<PrintedCase>, AppError> {
    let cases = sqlx::query!(
        r#"select c.district_code as "district_code!", d.name_en as district_en, d.name_km as district_km,
                  c.title_en as "title_en!", c.title_km as "title_km!", c.status as "status!",
                  c.summary as "summary!", c.context as "context!", c.findings as "findings!",
                  c.good_practices as "good_practices!", c.challenges as "challenges!",
                  c.conclusion as "conclusion!"
           from visible_case_studies($1, '', '', null, null, $2, $3) c
           join districts d on d.code = c.district_code
           order by c.district_code"#,
        study,
        reader.everywhere,
        &reader.own_districts,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| {
        let texts = [
            row.summary,
            row.context,
            row.findings,
            row.good_practices,
            row.challenges,
            row.conclusion,
        ];
        PrintedCase {
            district_code: row.district_code,
            district_en: row.district_en,
            district_km: row.district_km,
            title_en: row.title_en,
            title_km: row.title_km,
            status: row.status,
            sections: crate::case_studies::SECTIONS
                .iter()
                .zip(texts)
                .filter(|(_, text)| !text.trim().is_empty())
                .map(|(name, text)| (*name, crate::web::markdown::to_safe_html(&text)))
                .collect(),
        }
    })
    .collect();
    Ok(cases)
}
