//! Participant counts by group and sex, with their totals summed by PostgreSQL:
//! for one activity, or over all the activities a case study draws on.

use sqlx::PgPool;

use super::form::{Counts, GROUPS, SEXES};
use super::list::percent;
use crate::error::AppError;

pub struct Participants {
    pub counts: Counts,
    pub female: i64,
    pub male: i64,
    pub total: i64,
}

/// One cell of the grid, with the grand totals every row carries.
struct Cell {
    participant_group: String,
    sex: String,
    count: i64,
    total: i64,
    female: i64,
}

impl Participants {
    pub fn group_total(&self, group: usize) -> i32 {
        self.counts.get(group, 0) + self.counts.get(group, 1)
    }

    pub fn percent_female(&self) -> String {
        percent(self.female, self.total)
    }

    pub async fn of_activity(pool: &PgPool, activity_id: i64) -> Result<Self, AppError> {
        let cells = sqlx::query_as!(
            Cell,
            r#"select participant_group, sex, count::bigint as "count!",
                      sum(count) over ()::bigint as "total!",
                      coalesce(sum(case when sex = 'female' then count else 0 end) over (), 0)::bigint as "female!"
               from participant_counts where activity_id = $1"#,
            activity_id
        )
        .fetch_all(pool)
        .await?;
        Ok(Self::from_cells(cells))
    }

    pub async fn of_case_study(pool: &PgPool, case_study_id: i64) -> Result<Self, AppError> {
        let cells = sqlx::query_as!(
            Cell,
            r#"select p.participant_group, p.sex, sum(p.count)::bigint as "count!",
                      (sum(sum(p.count)) over ())::bigint as "total!",
                      coalesce(sum(sum(case when p.sex = 'female' then p.count else 0 end)) over (), 0)::bigint as "female!"
               from participant_counts p join activities a on a.id = p.activity_id
               where a.case_study_id = $1
               group by p.participant_group, p.sex"#,
            case_study_id
        )
        .fetch_all(pool)
        .await?;
        Ok(Self::from_cells(cells))
    }

    fn from_cells(cells: Vec<Cell>) -> Self {
        let mut participants = Participants {
            counts: Counts::default(),
            female: 0,
            male: 0,
            total: 0,
        };
        for cell in cells {
            let group = GROUPS
                .iter()
                .position(|group| *group == cell.participant_group);
            let sex = SEXES.iter().position(|sex| *sex == cell.sex);
            if let (Some(group), Some(sex)) = (group, sex) {
                participants.counts.0[group][sex] = i32::try_from(cell.count).unwrap_or(i32::MAX);
            }
            participants.total = cell.total;
            participants.female = cell.female;
            participants.male = cell.total - cell.female;
        }
        participants
    }
}
