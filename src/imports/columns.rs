//! The columns an import reads. The template's columns carry the same names as
//! the XLSForm's questions, so one list reads both a filled-in template and a
//! KoboToolbox or ODK export, whatever group prefix the export puts before them.

use crate::activities::form::{GROUPS, SEXES};
use crate::i18n::Lang;

/// The number of findings a row may carry.
pub const FINDINGS_PER_ROW: usize = 3;

/// What a column of the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Kind,
    HeldOn,
    District,
    Commune,
    Place,
    Organization,
    Summary,
    /// Participants of `GROUPS[group]` and `SEXES[sex]`.
    Count {
        group: usize,
        sex: usize,
    },
    Youth,
    PersonsWithDisabilities,
    /// The text of finding `n` (from 1) and its themes.
    Finding(usize),
    Theme(usize),
    /// A KoboToolbox or ODK submission's UUID.
    Submission,
}

impl Column {
    /// Every column of the template, in its order.
    pub fn template() -> Vec<Column> {
        let mut columns = vec![
            Column::Kind,
            Column::HeldOn,
            Column::District,
            Column::Commune,
            Column::Place,
            Column::Organization,
        ];
        for group in 0..GROUPS.len() {
            for sex in 0..SEXES.len() {
                columns.push(Column::Count { group, sex });
            }
        }
        columns.extend([Column::Youth, Column::PersonsWithDisabilities]);
        for n in 1..=FINDINGS_PER_ROW {
            columns.extend([Column::Finding(n), Column::Theme(n)]);
        }
        columns.push(Column::Summary);
        columns
    }

    /// The name of the column: the XLSForm question's, and the template's
    /// when read as a name.
    pub fn name(self) -> String {
        match self {
            Column::Kind => "kind".into(),
            Column::HeldOn => "held_on".into(),
            Column::District => "district".into(),
            Column::Commune => "commune".into(),
            Column::Place => "place".into(),
            Column::Organization => "organization".into(),
            Column::Summary => "summary".into(),
            Column::Count { group, sex } => format!("{}_{}", GROUPS[group], SEXES[sex]),
            Column::Youth => "youth".into(),
            Column::PersonsWithDisabilities => "persons_with_disabilities".into(),
            Column::Finding(n) => format!("finding_{n}"),
            Column::Theme(n) => format!("theme_{n}"),
            Column::Submission => "instanceID".into(),
        }
    }

    /// The column's heading in one language.
    pub fn label(self, lang: Lang) -> String {
        match self {
            Column::Count { group, sex } => format!(
                "{} · {}",
                lang.t(&format!("group-{}", GROUPS[group])),
                lang.t(&format!("sex-{}", SEXES[sex]))
            ),
            Column::Finding(n) => format!("{} {n}", lang.t("import-column-finding")),
            Column::Theme(n) => format!("{} {n}", lang.t("import-column-theme")),
            other => lang.t(&format!("import-column-{}", other.name().replace('_', "-"))),
        }
    }

    /// The template's heading: English, then Khmer.
    pub fn heading(self) -> String {
        format!("{} / {}", self.label(Lang::En), self.label(Lang::Km))
    }

    /// The column a file's heading names, if any: the template's heading, one
    /// of its languages, or a question's name with or without the group
    /// prefix that KoboToolbox (`participants/youth`) or ODK Central
    /// (`participants-youth`) puts before it.
    pub fn recognize(heading: &str) -> Option<Column> {
        let heading = normalize(heading);
        let leaf = heading.rsplit(['/', '-']).next().unwrap_or_default().trim();
        if matches!(leaf, "_uuid" | "instanceid" | "key") {
            return Some(Column::Submission);
        }
        Column::template().into_iter().find(|column| {
            let names = [
                normalize(&column.heading()),
                normalize(&column.label(Lang::En)),
                normalize(&column.label(Lang::Km)),
                column.name(),
            ];
            names.iter().any(|name| *name == heading || name == leaf)
        })
    }

    /// Whether a file without this column cannot be read at all.
    pub fn required(self) -> bool {
        matches!(self, Column::Kind | Column::HeldOn | Column::District)
    }
}

/// Lower case, with runs of white space as one space.
fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The spreadsheet's name of a column counted from 0: A, B, …, Z, AA, …
pub fn letter(index: usize) -> String {
    let mut letters = Vec::new();
    let mut rest = index + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        letters.push(char::from(b'A' + digit as u8));
        rest = (rest - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_recognized_as_the_template_and_the_exports_write_them() {
        let youth = Some(Column::Youth);
        assert_eq!(Column::recognize(&Column::Youth.heading()), youth);
        assert_eq!(Column::recognize("participants/youth"), youth);
        assert_eq!(Column::recognize("participants-youth"), youth);
        assert_eq!(Column::recognize(" YOUTH "), youth);
        assert_eq!(
            Column::recognize("participants/citizen_female"),
            Some(Column::Count { group: 0, sex: 0 })
        );
        assert_eq!(
            Column::recognize("findings/theme_2"),
            Some(Column::Theme(2))
        );
        assert_eq!(
            Column::recognize("meta/instanceID"),
            Some(Column::Submission)
        );
        assert_eq!(Column::recognize("_uuid"), Some(Column::Submission));
        assert_eq!(Column::recognize("KEY"), Some(Column::Submission));
        assert_eq!(Column::recognize("_submission_time"), None);
        assert_eq!(Column::recognize("start"), None);
    }

    #[test]
    fn every_template_column_has_its_own_heading() {
        let columns = Column::template();
        for column in &columns {
            assert_eq!(Column::recognize(&column.heading()), Some(*column));
        }
    }

    #[test]
    fn columns_are_lettered_as_spreadsheets_do() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
    }
}
