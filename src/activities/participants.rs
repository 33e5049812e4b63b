//! Participant counts by group and sex, as one reader may see them (the
//! small-count rule, `disclosure`). The queries that load an activity or a case
//! study hand over each group's counts, exact and rounded.

use super::form::GROUPS;
use crate::disclosure::{self, Count, Shown, Table};

pub struct Participants {
    /// Groups (rows, `GROUPS` order) by sex (female, male), with totals.
    table: Table,
}

/// Each group's women and men (`GROUPS` order), exact and as outsiders see them.
pub struct GroupCounts<'a, N> {
    pub female: &'a [N],
    pub male: &'a [N],
    pub rounded_female: &'a [N],
    pub rounded_male: &'a [N],
}

impl Participants {
    pub fn new<N: Copy + Into<i64>>(counts: GroupCounts<'_, N>, blurred: bool) -> Self {
        let at = |list: &[N], row: usize| list.get(row).map_or(0, |count| (*count).into());
        let grid: Vec<[Count; 2]> = (0..GROUPS.len())
            .map(|row| {
                [
                    Count::new(at(counts.female, row), at(counts.rounded_female, row)),
                    Count::new(at(counts.male, row), at(counts.rounded_male, row)),
                ]
            })
            .collect();
        Participants {
            table: Table::new(&grid, blurred),
        }
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
