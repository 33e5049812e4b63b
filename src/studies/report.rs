//! The study's report, as CPDD publishes it: who took part (respondents and the
//! share of women, participants by group and sex, activities by kind), then a
//! line per district with its case study, its recommendation list and when it
//! was endorsed, its priorities and its action plan's progress. Counted from
//! the dashboard's figures, so every reader sees what they may read, with the
//! small-count rule.

use std::sync::Arc;

use sqlx::PgPool;

use crate::activities::form::{GROUPS, KINDS};
use crate::auth::session::CurrentUser;
use crate::dashboard::figures::{self, Figures, FiguresCache};
use crate::dashboard::filters::{Reader, Selection};
use crate::dashboard::people::People;
use crate::disclosure::BySex;
use crate::error::AppError;
use crate::web::format_timestamp;

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
    pub priorities: i64,
    pub plan_id: Option<i64>,
    pub plan_progress: Option<i32>,
}

impl DistrictLine {
    pub fn endorsed_text(&self) -> String {
        self.endorsed_at.map(format_timestamp).unwrap_or_default()
    }
}

/// The report's figures for `user`.
pub struct Report {
    pub figures: Arc<Figures>,
    pub people: People,
    pub districts: Vec<DistrictLine>,
}

impl Report {
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

pub async fn load(
    pool: &PgPool,
    cache: &FiguresCache,
    user: &CurrentUser,
    study: i64,
) -> Result<Report, AppError> {
    let selection = Selection {
        study: Some(study),
        ..Selection::default()
    };
    let reader = Reader::of(user, &selection);
    let today = crate::activities::form::today();
    let figures = figures::figures(cache, pool, &selection, &reader, today).await?;
    let people = People::of(&figures, reader.blurs_small_counts);
    let districts = sqlx::query_as!(
        DistrictLine,
        r#"with cases as (
               select c.district_code, c.id, c.status
               from visible_case_studies($1, '', '', null, null, $2, $3) c
           ),
           lists as (
               select l.district_code, l.id, l.status,
                      (select max(e.at) from endorsements e
                       where e.list_id = l.id and e.transition = 'endorsed') as endorsed_at,
                      (select count(*) from priorities p join recommendations r on r.id = p.recommendation_id
                       where r.list_id = l.id) as priorities
               from visible_recommendation_lists($1, '', '', null, null, $2, $3) l
           ),
           plans as (
               select distinct on (p.district_code) p.district_code, p.id,
                      (select round(avg(a.progress))::int from actions a
                       where a.plan_id = p.id and a.status <> 'cancelled') as progress
               from action_plans p
               where p.study_id = $1 and p.district_code is not null
               order by p.district_code, p.id desc
           )
           select d.code, d.name_en, d.name_km,
                  c.id as "case_study_id?", c.status as "case_study_status?",
                  l.id as "list_id?", l.status as "list_status?", l.endorsed_at as "endorsed_at?",
                  coalesce(l.priorities, 0) as "priorities!",
                  p.id as "plan_id?", p.progress as "plan_progress?"
           from districts d
           left join cases c on c.district_code = d.code
           left join lists l on l.district_code = d.code
           left join plans p on p.district_code = d.code
           where c.id is not null or l.id is not null or p.id is not null
           order by d.code"#,
        study,
        reader.everywhere,
        &reader.own_districts,
    )
    .fetch_all(pool)
    .await?;
    Ok(Report {
        figures,
        people,
        districts,
    })
}
