//! The small-count rule, written once (docs/disclosure.md).
//!
//! Readers who may not see small counts of people (donors, officials, other
//! districts, the public pages) see every count of one to four people rounded
//! to 0 or 5, at random but the same way every time (the database keeps the
//! rounding: `rounded_count`), and every figure they see is a sum of such
//! counts. A rounded 0 with people behind it reads "<5". Because outsiders'
//! figures add up exactly, any total, difference or comparison of them is a sum
//! of rounded counts as well, and never gives back a count of one to four. Who
//! sees exact counts is the policy's answer (`ReadSmallCounts`).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};

/// Below this, a count of people could point at someone.
pub const SMALL_COUNT: i64 = 5;

/// A count of people, or a sum of them: as it is, and as outsiders see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub exact: i64,
    pub rounded: i64,
}

impl Count {
    pub fn new(exact: impl Into<i64>, rounded: impl Into<i64>) -> Count {
        Count {
            exact: exact.into(),
            rounded: rounded.into(),
        }
    }

    /// The count as a reader who blurs small counts (or not) sees it.
    pub fn shown(self, blurred: bool) -> Shown {
        match (blurred, self.exact) {
            (false, exact) | (true, exact @ 0) => Shown::Exact(exact),
            (true, _) if self.rounded < SMALL_COUNT => Shown::Small,
            (true, _) => Shown::Exact(self.rounded),
        }
    }
}

impl Add for Count {
    type Output = Count;

    fn add(self, other: Count) -> Count {
        Count {
            exact: self.exact + other.exact,
            rounded: self.rounded + other.rounded,
        }
    }
}

impl Sub for Count {
    type Output = Count;

    fn sub(self, other: Count) -> Count {
        Count {
            exact: self.exact - other.exact,
            rounded: self.rounded - other.rounded,
        }
    }
}

impl Sum for Count {
    fn sum<I: Iterator<Item = Count>>(counts: I) -> Count {
        counts.fold(Count::default(), Add::add)
    }
}

/// A count of people as one reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Exact(i64),
    /// People were there, fewer than five after rounding.
    Small,
}

impl Shown {
    pub fn exact(self) -> Option<i64> {
        match self {
            Shown::Exact(count) => Some(count),
            Shown::Small => None,
        }
    }

    /// The count drawn to scale: a small one as nothing, as it adds up.
    pub fn drawn(self) -> i64 {
        self.exact().unwrap_or(0)
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Exact(count) => write!(f, "{count}"),
            Shown::Small => write!(f, "<{SMALL_COUNT}"),
        }
    }
}

/// "57%" of `part` in `whole` as the reader sees them: a share of what is
/// shown, so that it gives nothing back that the counts do not; "–" beside a
/// "<5".
pub fn share(part: Shown, whole: Shown) -> String {
    match (part.exact(), whole.exact()) {
        (Some(part), Some(whole)) => crate::format::percent(part, whole),
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
    pub fn new(female: Count, male: Count, blurred: bool) -> BySex {
        BySex {
            female: female.shown(blurred),
            male: male.shown(blurred),
            total: (female + male).shown(blurred),
        }
    }

    /// From the women and everyone: the men are the rest.
    pub fn of_total(female: Count, total: Count, blurred: bool) -> BySex {
        BySex::new(female, total - female, blurred)
    }

    pub fn percent_female(&self) -> String {
        share(self.female, self.total)
    }
}

/// A grid of counts (rows × columns) with its row totals, column totals and
/// grand total, as one reader sees them. The totals are sums of the cells,
/// rounded ones included, so that the table adds up as shown.
#[derive(Debug, Clone)]
pub struct Table {
    /// (rows + 1) × (columns + 1): the last column holds the row totals, the
    /// last row the column totals.
    shown: Vec<Vec<Shown>>,
}

impl Table {
    pub fn new<const COLUMNS: usize>(counts: &[[Count; COLUMNS]], blurred: bool) -> Table {
        let rows = counts.len();
        let mut sums = vec![vec![Count::default(); COLUMNS + 1]; rows + 1];
        for (row, line) in counts.iter().enumerate() {
            for (column, count) in line.iter().enumerate() {
                for (r, c) in [
                    (row, column),
                    (row, COLUMNS),
                    (rows, column),
                    (rows, COLUMNS),
                ] {
                    sums[r][c] = sums[r][c] + *count;
                }
            }
        }
        let shown = sums
            .iter()
            .map(|line| line.iter().map(|count| count.shown(blurred)).collect())
            .collect();
        Table { shown }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rounding of `rounded_count` (migration 0014), for the tests.
    fn rounded(count: i64, key: f64) -> Count {
        let shown = if (1..SMALL_COUNT).contains(&count) {
            if key < count as f64 / 5.0 { 5 } else { 0 }
        } else {
            count
        };
        Count::new(count, shown)
    }

    #[test]
    fn outsiders_see_small_counts_rounded_and_staff_see_them_as_they_are() {
        let shown = |count, key| rounded(count, key).shown(true).to_string();
        assert_eq!(
            [shown(0, 0.1), shown(3, 0.7), shown(3, 0.5), shown(17, 0.1)],
            ["0", "<5", "5", "17"]
        );
        assert_eq!(rounded(3, 0.7).shown(false).to_string(), "3");
    }

    #[test]
    fn a_table_adds_up_as_shown() {
        // The report's "SNA officials 2 3 5", beside 23 citizen women and 4 men.
        let table = Table::new(
            &[
                [rounded(2, 0.1), rounded(3, 0.9)],
                [rounded(23, 0.5), rounded(4, 0.3)],
            ],
            true,
        );
        assert_eq!(table.cell(0, 0), Shown::Exact(5));
        assert_eq!(table.cell(0, 1), Shown::Small);
        assert_eq!(table.row_total(0), Shown::Exact(5));
        assert_eq!(table.column_total(0), Shown::Exact(28));
        assert_eq!(table.column_total(1), Shown::Exact(5));
        assert_eq!(table.total(), Shown::Exact(33));
        let staff = Table::new(&[[rounded(2, 0.1), rounded(3, 0.9)]], false);
        assert_eq!(staff.total(), Shown::Exact(5));
    }

    #[test]
    fn no_difference_of_two_sums_is_a_count_of_one_to_four() {
        // Any two sums of rounded counts, one holding the other: their
        // difference is itself a sum of rounded counts.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for _ in 0..500 {
            let counts: Vec<Count> = (0..8)
                .map(|_| rounded((next() % 12) as i64, (next() % 1000) as f64 / 1000.0))
                .collect();
            let cut = (next() % 8) as usize;
            let whole: Count = counts.iter().copied().sum();
            let part: Count = counts[..cut].iter().copied().sum();
            let difference = whole.rounded - part.rounded;
            assert!(!(1..SMALL_COUNT).contains(&difference), "{counts:?} {cut}");
            assert!(!(1..SMALL_COUNT).contains(&whole.rounded));
        }
    }

    #[test]
    fn rounding_keeps_sums_right_on_average() {
        let keys = (0..1000).map(|key| key as f64 / 1000.0);
        let total: i64 = keys.map(|key| rounded(3, key).rounded).sum();
        assert_eq!(total, 3000);
    }

    #[test]
    fn shares_are_of_what_is_shown() {
        assert_eq!(share(Shown::Exact(10), Shown::Exact(20)), "50%");
        assert_eq!(share(Shown::Small, Shown::Exact(20)), "–");
    }
}
