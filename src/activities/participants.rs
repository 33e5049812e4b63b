//! Participant counts by group and sex, as one reader may see them (the
//! small-count rule, `disclosure`). The queries that load an activity or a case
//! study hand over the cells.

use super::form::{GROUPS, SEXES};
use crate::disclosure::{self, Shown, Table};

pub struct Participants {
    /// Groups (rows, `GROUPS` order) by sex (`SEXES` order), with totals.
    table: Table,
}

impl Participants {
    /// The grid from parallel arrays of (group, sex, count) cells.
    pub fn from_cells(groups: &[String], sexes: &[String], counts: &[i64], blurred: bool) -> Self {
        Participants {
            table: Table::new(&grid(groups, sexes, counts), blurred),
        }
    }

    /// The grid, and a list of totals of the same people shown beside it (the
    /// activities of a case study): the two share the grand total, so they are
    /// suppressed together.
    pub fn with_parts(
        groups: &[String],
        sexes: &[String],
        counts: &[i64],
        parts: &[i64],
        blurred: bool,
    ) -> (Self, Vec<Shown>) {
        let parts: Vec<[i64; 1]> = parts.iter().map(|total| [*total]).collect();
        let (table, list) = Table::linked(&grid(groups, sexes, counts), &parts, blurred);
        let shown = (0..parts.len()).map(|row| list.cell(row, 0)).collect();
        (Participants { table }, shown)
    }

    pub fn cell(&self, group: usize, sex: usize) -> Shown {
        self.table.cell(group, sex)
    }

    pub fn group_total(&self, group: usize) -> Shown {
        self.table.row_total(group)
    }

    pub fn female(&self) -> Shown {
        self.table.column_total(0)
    }

    pub fn male(&self) -> Shown {
        self.table.column_total(1)
    }

    pub fn total(&self) -> Shown {
        self.table.total()
    }

    pub fn percent_female(&self) -> String {
        disclosure::share(self.female(), self.total())
    }
}

fn grid(groups: &[String], sexes: &[String], counts: &[i64]) -> [[i64; 2]; 6] {
    let mut grid = [[0; SEXES.len()]; GROUPS.len()];
    for ((group, sex), count) in groups.iter().zip(sexes).zip(counts) {
        let row = GROUPS.iter().position(|known| known == group);
        let column = SEXES.iter().position(|known| known == sex);
        if let (Some(row), Some(column)) = (row, column) {
            grid[row][column] = *count;
        }
    }
    grid
}
