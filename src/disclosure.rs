//! The small-count rule of DESIGN.md §1, written once: readers who may not see
//! small counts of people (donors, officials, other districts) see 1 to 4 as
//! "<5", and no hidden count can be worked out from the figures beside it.
//!
//! Counts come in tables whose rows and columns add up to totals. Where a row or
//! a column (totals included) holds exactly one hidden count, subtracting the
//! others from its total gives it back; so a second count of that line is
//! withheld too ("secondary suppression", as statistics offices do), until no
//! line holds exactly one. Who blurs is the policy's answer (`ReadSmallCounts`).

use std::fmt;

/// Below this, a count of people could point at someone.
pub const SMALL_COUNT: i64 = 5;

/// A count of people as one reader may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Exact(i64),
    /// One to four people.
    Small,
    /// Hidden so that a small count beside it cannot be worked out.
    Withheld,
}

impl Shown {
    /// A count standing alone, with no total beside it.
    pub fn single(count: i64, blurred: bool) -> Shown {
        if blurred && is_small(count) {
            Shown::Small
        } else {
            Shown::Exact(count)
        }
    }

    pub fn exact(self) -> Option<i64> {
        match self {
            Shown::Exact(count) => Some(count),
            Shown::Small | Shown::Withheld => None,
        }
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Exact(count) => write!(f, "{count}"),
            Shown::Small => write!(f, "<{SMALL_COUNT}"),
            Shown::Withheld => f.write_str("–"),
        }
    }
}

/// "57%" of `part` in `whole` when both are shown exactly; "–" otherwise, since a
/// share and a total give the part back.
pub fn share(part: Shown, whole: Shown) -> String {
    match (part.exact(), whole.exact()) {
        (Some(part), Some(whole)) => crate::web::percent(part, whole),
        _ => "–".into(),
    }
}

/// Women and men of one group of people, with their total.
#[derive(Debug, Clone, Copy)]
pub struct BySex {
    pub female: Shown,
    pub male: Shown,
    pub total: Shown,
}

impl BySex {
    pub fn new(female: i64, male: i64, blurred: bool) -> BySex {
        let table = Table::new(&[[female, male]], blurred);
        BySex {
            female: table.cell(0, 0),
            male: table.cell(0, 1),
            total: table.total(),
        }
    }

    /// Beside a list of totals that add up to the same people (the activities
    /// of a district): suppressed together, as they share the total.
    pub fn with_parts(female: i64, male: i64, parts: &[i64], blurred: bool) -> (BySex, Vec<Shown>) {
        let parts: Vec<[i64; 1]> = parts.iter().map(|total| [*total]).collect();
        let (table, list) = Table::linked(&[[female, male]], &parts, blurred);
        let by_sex = BySex {
            female: table.cell(0, 0),
            male: table.cell(0, 1),
            total: table.total(),
        };
        (
            by_sex,
            (0..parts.len()).map(|row| list.cell(row, 0)).collect(),
        )
    }

    pub fn percent_female(&self) -> String {
        share(self.female, self.total)
    }
}

fn is_small(count: i64) -> bool {
    (1..SMALL_COUNT).contains(&count)
}

/// A grid of counts (rows × columns) with its row totals, column totals and
/// grand total, as one reader may see them.
#[derive(Debug, Clone)]
pub struct Table {
    /// (rows + 1) × (columns + 1): the last column holds the row totals, the
    /// last row the column totals.
    shown: Vec<Vec<Shown>>,
}

impl Table {
    pub fn new<const COLUMNS: usize>(counts: &[[i64; COLUMNS]], blurred: bool) -> Table {
        Grid::new(counts).suppress(blurred, &Margins::default())
    }

    /// Two tables that break down the same people (e.g. by group and by
    /// district): they share the grand total, and the column totals too when
    /// they have the same columns. A margin withheld in one is withheld in both,
    /// or the other table would give it back.
    pub fn linked<const A: usize, const B: usize>(
        a: &[[i64; A]],
        b: &[[i64; B]],
        blurred: bool,
    ) -> (Table, Table) {
        let (a, b) = (Grid::new(a), Grid::new(b));
        let share_columns = a.columns == b.columns;
        let mut margins = Margins::default();
        loop {
            let (first, second) = (a.suppress(blurred, &margins), b.suppress(blurred, &margins));
            let withheld = first
                .margins(share_columns)
                .union(&second.margins(share_columns));
            if withheld == margins {
                return (first, second);
            }
            margins = withheld;
        }
    }

    pub fn cell(&self, row: usize, column: usize) -> Shown {
        self.shown[row][column]
    }

    pub fn row_total(&self, row: usize) -> Shown {
        self.shown[row][self.columns()]
    }

    pub fn column_total(&self, column: usize) -> Shown {
        self.shown[self.rows()][column]
    }

    pub fn total(&self) -> Shown {
        self.shown[self.rows()][self.columns()]
    }

    fn rows(&self) -> usize {
        self.shown.len() - 1
    }

    fn columns(&self) -> usize {
        self.shown[0].len() - 1
    }

    fn margins(&self, with_columns: bool) -> Margins {
        let hidden = |shown: Shown| shown.exact().is_none();
        Margins {
            columns: if with_columns {
                (0..self.columns())
                    .filter(|column| hidden(self.column_total(*column)))
                    .collect()
            } else {
                Vec::new()
            },
            total: hidden(self.total()),
        }
    }
}

/// Margins that must be withheld whatever the table's own cells say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Margins {
    columns: Vec<usize>,
    total: bool,
}

impl Margins {
    fn union(&self, other: &Margins) -> Margins {
        let mut columns = self.columns.clone();
        columns.extend(&other.columns);
        columns.sort_unstable();
        columns.dedup();
        Margins {
            columns,
            total: self.total || other.total,
        }
    }
}

/// The counts with their totals filled in.
struct Grid {
    values: Vec<Vec<i64>>,
    rows: usize,
    columns: usize,
}

impl Grid {
    fn new<const COLUMNS: usize>(counts: &[[i64; COLUMNS]]) -> Grid {
        let (rows, columns) = (counts.len(), COLUMNS);
        let mut values = vec![vec![0; columns + 1]; rows + 1];
        for (row, line) in counts.iter().enumerate() {
            for (column, count) in line.iter().enumerate() {
                values[row][column] = *count;
                values[row][columns] += count;
                values[rows][column] += count;
                values[rows][columns] += count;
            }
        }
        Grid {
            values,
            rows,
            columns,
        }
    }

    /// Every row and every column, totals included, as lists of positions that
    /// add up (the last one is the total).
    fn lines(&self) -> Vec<Vec<(usize, usize)>> {
        let rows =
            (0..=self.rows).map(|row| (0..=self.columns).map(|column| (row, column)).collect());
        let columns =
            (0..=self.columns).map(|column| (0..=self.rows).map(|row| (row, column)).collect());
        rows.chain(columns).collect()
    }

    fn suppress(&self, blurred: bool, margins: &Margins) -> Table {
        let mut hidden: Vec<Vec<bool>> = self
            .values
            .iter()
            .map(|line| {
                line.iter()
                    .map(|count| blurred && is_small(*count))
                    .collect()
            })
            .collect();
        if blurred {
            for column in &margins.columns {
                hidden[self.rows][*column] = true;
            }
            hidden[self.rows][self.columns] |= margins.total;
            self.withhold_until_safe(&mut hidden);
        }
        let shown = self
            .values
            .iter()
            .zip(&hidden)
            .map(|(values, hidden)| {
                values
                    .iter()
                    .zip(hidden)
                    .map(|(count, hidden)| match (*hidden, is_small(*count)) {
                        (false, _) => Shown::Exact(*count),
                        (true, true) => Shown::Small,
                        (true, false) => Shown::Withheld,
                    })
                    .collect()
            })
            .collect();
        Table { shown }
    }

    /// Withholds, in every line with exactly one hidden count, its smallest
    /// other non-zero count, until no such line is left. Hiding only grows, so
    /// this ends.
    fn withhold_until_safe(&self, hidden: &mut [Vec<bool>]) {
        let lines = self.lines();
        loop {
            let mut changed = false;
            for line in &lines {
                if line.iter().filter(|(r, c)| hidden[*r][*c]).count() != 1 {
                    continue;
                }
                let next = line
                    .iter()
                    .filter(|(r, c)| !hidden[*r][*c] && self.values[*r][*c] > 0)
                    .min_by_key(|(r, c)| self.values[*r][*c]);
                if let Some((r, c)) = next {
                    hidden[*r][*c] = true;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of the table: no line may hold exactly one hidden count.
    fn assert_safe(table: &Table) {
        let rows = table.rows();
        let columns = table.columns();
        let hidden = |row: usize, column: usize| table.cell(row, column).exact().is_none();
        for row in 0..=rows {
            let count = (0..=columns).filter(|column| hidden(row, *column)).count();
            assert_ne!(count, 1, "row {row} of {table:?}");
        }
        for column in 0..=columns {
            let count = (0..=rows).filter(|row| hidden(*row, column)).count();
            assert_ne!(count, 1, "column {column} of {table:?}");
        }
    }

    #[test]
    fn small_counts_show_as_under_five_and_zero_stays_zero() {
        assert_eq!(
            [0, 1, 4, 5, 17].map(|n| Shown::single(n, true).to_string()),
            ["0", "<5", "<5", "5", "17"]
        );
        assert_eq!(Shown::single(3, false).to_string(), "3");
    }

    #[test]
    fn a_small_count_beside_its_total_takes_a_second_count_with_it() {
        // The report's "SNA officials 2 3 5": all three small.
        let table = Table::new(&[[2, 3], [23, 4]], true);
        assert_eq!(table.cell(0, 0), Shown::Small);
        assert_eq!(table.cell(0, 1), Shown::Small);
        assert_eq!(table.row_total(0), Shown::Exact(5));
        assert_safe(&table);
        // Women 27 minus citizens 23 would give the hidden CBO women back.
        let table = Table::new(&[[23, 20], [4, 9], [0, 6]], true);
        assert_eq!(table.cell(1, 0), Shown::Small);
        assert_safe(&table);
        assert!(table.column_total(0).exact().is_none() || table.cell(0, 0).exact().is_none());
    }

    #[test]
    fn staff_see_every_count() {
        let table = Table::new(&[[2, 3], [23, 4]], false);
        assert_eq!(table.cell(0, 0), Shown::Exact(2));
        assert_eq!(table.total(), Shown::Exact(32));
    }

    #[test]
    fn any_grid_ends_safe() {
        // A fixed walk through many small grids, small counts common.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % 12) as i64
        };
        for _ in 0..500 {
            let rows = 1 + next() as usize % 5;
            let grid: Vec<[i64; 3]> = (0..rows).map(|_| [next(), next(), next()]).collect();
            let table = Table::new(&grid, true);
            assert_safe(&table);
            for (row, line) in grid.iter().enumerate() {
                for (column, count) in line.iter().enumerate() {
                    match table.cell(row, column) {
                        Shown::Exact(shown) => assert_eq!(shown, *count),
                        Shown::Small => assert!(is_small(*count)),
                        Shown::Withheld => assert!(*count >= SMALL_COUNT),
                    }
                }
            }
        }
    }

    #[test]
    fn linked_tables_withhold_the_same_margins() {
        // By group: nothing small. By district: one small district, whose
        // partner withheld in the district table must not leave the sex totals
        // giving it back through the group table.
        let by_group = [[30, 20], [10, 12]];
        let by_district = [[3, 0], [37, 32]];
        let (groups, districts) = Table::linked(&by_group, &by_district, true);
        assert_safe(&groups);
        assert_safe(&districts);
        for column in 0..2 {
            assert_eq!(
                groups.column_total(column).exact(),
                districts.column_total(column).exact()
            );
        }
        assert_eq!(groups.total().exact(), districts.total().exact());
        assert_eq!(districts.cell(0, 0), Shown::Small);
    }

    #[test]
    fn an_empty_table_has_zero_totals() {
        let table = Table::new::<2>(&[], true);
        assert_eq!(table.column_total(1), Shown::Exact(0));
        assert_eq!(table.total(), Shown::Exact(0));
    }

    #[test]
    fn shares_need_both_counts_exact() {
        assert_eq!(share(Shown::Exact(10), Shown::Exact(20)), "50%");
        assert_eq!(share(Shown::Small, Shown::Exact(20)), "–");
        assert_eq!(share(Shown::Exact(0), Shown::Exact(0)), "–");
    }
}
