//! The dashboard's counts of people as one reader may see them. The table by
//! group, the table by district, the chart and the map all break down the same
//! participants from the same counts (`disclosure`), so every one of them shows
//! the same value for the same people, and they add up as shown.

use crate::activities::form::GROUPS;
use crate::disclosure::{BySex, Count, Table};

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
                .map_or([Count::default(); 2], |row| {
                    [
                        Count::new(row.first, row.rounded_first),
                        Count::new(row.second, row.rounded_second),
                    ]
                })
        });
        let districts: Vec<[Count; 2]> = figures
            .districts
            .iter()
            .map(|district| [district.female(), district.male()])
            .collect();
        let total = &figures.total;
        People {
            groups: Table::new(&groups, blurred),
            districts: Table::new(&districts, blurred),
            respondents: BySex::new(
                total.respondents_female(),
                total.respondents_male(),
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
