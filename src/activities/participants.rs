//! Participant counts by group and sex, as the pages show them. The queries that
//! load an activity or a case study hand over the cells and the totals, summed by
//! PostgreSQL, in the same statement.

use super::form::{Counts, GROUPS, SEXES};
use super::list::percent;

pub struct Participants {
    pub counts: Counts,
    pub female: i64,
    pub male: i64,
    pub total: i64,
}

impl Participants {
    /// The grid from parallel arrays of (group, sex, count) cells and the totals.
    pub fn from_cells(
        groups: &[String],
        sexes: &[String],
        counts: &[i64],
        total: i64,
        female: i64,
    ) -> Self {
        let mut grid = Counts::default();
        for ((group, sex), count) in groups.iter().zip(sexes).zip(counts) {
            let row = GROUPS.iter().position(|known| known == group);
            let column = SEXES.iter().position(|known| known == sex);
            if let (Some(row), Some(column)) = (row, column) {
                grid.0[row][column] = i32::try_from(*count).unwrap_or(i32::MAX);
            }
        }
        Participants {
            counts: grid,
            female,
            male: total - female,
            total,
        }
    }

    pub fn group_total(&self, group: usize) -> i32 {
        self.counts.get(group, 0) + self.counts.get(group, 1)
    }

    pub fn percent_female(&self) -> String {
        percent(self.female, self.total)
    }
}
