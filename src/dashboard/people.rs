//! The dashboard's counts of people as one reader may see them. The table by
//! group, the table by district, the chart and the map all break down the same
//! participants, so they are suppressed together (`disclosure`) and every one of
//! them shows the same value for the same count.

use crate::activities::form::GROUPS;
use crate::disclosure::{self, BySex, Shown, Table};

use super::figures::{DistrictFigures, Figures};

#[derive(Debug)]
pub struct People {
    /// Participants by group (rows in `GROUPS` order) and sex.
    pub groups: Table,
    /// Participants by district (rows in `Figures::districts` order) and sex.
    pub districts: Table,
    /// FGD and interview respondents, a part of the participants shown apart.
    pub respondents: BySex,
}

impl People {
    pub fn of(figures: &Figures, blurred: bool) -> People {
        let groups = GROUPS.map(|group| {
            figures
                .breakdown("group")
                .find(|row| row.key == group)
                .map_or([0, 0], |row| [row.first, row.second])
        });
        let districts: Vec<[i64; 2]> = figures
            .districts
            .iter()
            .map(|district| [district.female, district.male])
            .collect();
        let (groups, districts) = Table::linked(&groups, &districts, blurred);
        let total = &figures.total;
        People {
            groups,
            districts,
            respondents: BySex::new(
                total.respondents_female,
                total.respondents - total.respondents_female,
                blurred,
            ),
        }
    }

    /// All participants by sex, with their total.
    pub fn total(&self) -> BySex {
        BySex {
            female: self.districts.column_total(0),
            male: self.districts.column_total(1),
            total: self.districts.total(),
        }
    }

    /// One district's participants, by its place in `Figures::districts`.
    pub fn district(&self, row: usize) -> BySex {
        BySex {
            female: self.districts.cell(row, 0),
            male: self.districts.cell(row, 1),
            total: self.districts.row_total(row),
        }
    }

    /// One group's participants, by its place in `GROUPS`.
    pub fn group(&self, row: usize) -> BySex {
        BySex {
            female: self.groups.cell(row, 0),
            male: self.groups.cell(row, 1),
            total: self.groups.row_total(row),
        }
    }

    /// The row of `district` in the figures.
    pub fn row_of(figures: &Figures, district: &DistrictFigures) -> Option<usize> {
        figures
            .districts
            .iter()
            .position(|known| known.code == district.code)
    }
}

/// A count of people that may be drawn to scale: exact ones, and small ones at
/// the "<5" bound. A withheld count is not drawn, or its length would give it back.
pub fn drawable(shown: Shown) -> Option<i64> {
    match shown {
        Shown::Exact(count) => Some(count),
        Shown::Small => Some(disclosure::SMALL_COUNT),
        Shown::Withheld => None,
    }
}
