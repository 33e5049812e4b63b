//! Checking every row of an import the way the activity form checks what is
//! typed, once the names people write (a district, an organization, a theme)
//! are turned into the codes and ids the form takes. Every problem is kept with
//! its row and column, so the preview can list them all.

use std::collections::{HashMap, HashSet};

use super::columns::{Column, FINDINGS_PER_ROW};
use super::sheet::Table;
use crate::activities::findings::{FindingForm, ValidFinding};
use crate::activities::form::{self, ActivityForm, KINDS, ValidActivity};
use crate::i18n::Lang;
use crate::revisions::Snapshot;

use super::lookup::Lookup;

/// A problem with the file (`line` is `None`) or with one cell of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    /// The index of the column among the file's headings.
    pub column: Option<usize>,
    /// The key of the message that says what is wrong.
    pub message: &'static str,
    /// The cell as written, or the heading a missing column should have.
    pub value: String,
    /// The column's name (its XLSForm question's), for a record that has
    /// no such field to point at: the API names it in its answer.
    pub name: String,
}

/// A finding with the snapshot its history keeps.
pub type CheckedFinding = (ValidFinding, Snapshot);

/// A row that passed every check, ready to be saved.
pub struct Ready {
    pub line: usize,
    pub submission: Option<String>,
    pub activity: ValidActivity,
    pub findings: Vec<CheckedFinding>,
}

/// What a file would bring in.
#[derive(Default)]
pub struct Checked {
    pub ready: Vec<Ready>,
    /// Lines of submissions imported before, with their UUIDs.
    pub already_imported: Vec<(usize, String)>,
    pub problems: Vec<Problem>,
}

/// The submission UUIDs a table carries: KoboToolbox writes them bare in
/// `_uuid`, ODK as `uuid:…` in `instanceID` and `KEY`.
pub fn submissions(table: &Table) -> Vec<String> {
    let Some(column) = ColumnIndex::of(table).position(Column::Submission) else {
        return Vec::new();
    };
    table
        .rows
        .iter()
        .filter_map(|(_, cells)| submission_id(cells.get(column)?))
        .collect()
}

fn submission_id(cell: &str) -> Option<String> {
    let cell = cell.trim();
    let id = cell.strip_prefix("uuid:").unwrap_or(cell).trim();
    (!id.is_empty()).then(|| id.to_owned())
}

/// Where each known column is among the file's headings.
struct ColumnIndex(HashMap<Column, usize>);

impl ColumnIndex {
    fn of(table: &Table) -> ColumnIndex {
        let mut index = HashMap::new();
        for (position, heading) in table.headings.iter().enumerate() {
            if let Some(column) = Column::recognize(heading) {
                index.entry(column).or_insert(position);
            }
        }
        ColumnIndex(index)
    }

    fn position(&self, column: Column) -> Option<usize> {
        self.0.get(&column).copied()
    }
}

/// Checks every row of `table`.
pub fn check(table: &Table, lookup: &Lookup) -> Checked {
    let index = ColumnIndex::of(table);
    let mut checked = Checked::default();
    for column in Column::template() {
        if column.required() && index.position(column).is_none() {
            checked.problems.push(Problem {
                line: None,
                column: None,
                message: "import-missing-column",
                value: column.heading(),
                name: column.name(),
            });
        }
    }
    if !checked.problems.is_empty() {
        return checked;
    }
    let mut seen = HashSet::new();
    for (line, cells) in &table.rows {
        let row = Row {
            line: *line,
            cells,
            index: &index,
            lookup,
        };
        let submission = row.submission();
        if let Some(id) = &submission {
            if lookup.imported.contains(id) {
                checked.already_imported.push((*line, id.clone()));
                continue;
            }
            if !seen.insert(id.clone()) {
                checked
                    .problems
                    .push(row.problem(Column::Submission, "import-duplicate-submission"));
                continue;
            }
        }
        match row.check() {
            Ok((activity, findings)) => checked.ready.push(Ready {
                line: *line,
                submission,
                activity,
                findings,
            }),
            Err(problems) => checked.problems.extend(problems),
        }
    }
    checked
}

/// One row of the file, read through the column index.
struct Row<'a> {
    line: usize,
    cells: &'a [String],
    index: &'a ColumnIndex,
    lookup: &'a Lookup,
}

impl Row<'_> {
    fn cell(&self, column: Column) -> &str {
        self.index
            .position(column)
            .and_then(|position| self.cells.get(position))
            .map_or("", |cell| cell.trim())
    }

    fn submission(&self) -> Option<String> {
        submission_id(self.cell(Column::Submission))
    }

    fn problem(&self, column: Column, message: &'static str) -> Problem {
        Problem {
            line: Some(self.line),
            column: self.index.position(column),
            message,
            value: self.cell(column).to_owned(),
            name: column.name(),
        }
    }

    /// The row as an activity with its findings, or every problem it has.
    fn check(&self) -> Result<(ValidActivity, Vec<CheckedFinding>), Vec<Problem>> {
        let mut problems = Vec::new();
        let mut refuse = |column: Column, message: &'static str| {
            problems.push(self.problem(column, message));
        };
        let district = self.district().unwrap_or_else(|message| {
            refuse(Column::District, message);
            String::new()
        });
        let commune = self.commune(&district).unwrap_or_else(|message| {
            refuse(Column::Commune, message);
            String::new()
        });
        let organization = self.organization().unwrap_or_else(|message| {
            refuse(Column::Organization, message);
            String::new()
        });
        let mut form = ActivityForm {
            kind: self.kind(),
            held_on: iso_date(self.cell(Column::HeldOn)),
            district_code: district,
            commune_code: commune,
            place: self.cell(Column::Place).to_owned(),
            facilitating_organization_id: organization,
            study_id: self
                .lookup
                .study_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            summary: self.cell(Column::Summary).to_owned(),
            youth: self.cell(Column::Youth).to_owned(),
            persons_with_disabilities: self.cell(Column::PersonsWithDisabilities).to_owned(),
            ..ActivityForm::default()
        };
        // Each count is checked here, where its column is known; the form
        // would only say that some count is wrong.
        for column in Column::template() {
            if let Column::Count { group, sex } = column {
                match form::count_value(self.cell(column)) {
                    Ok(count) => form.counts[group][sex] = count.to_string(),
                    Err(message) => refuse(column, message),
                }
            }
        }
        for column in [Column::Youth, Column::PersonsWithDisabilities] {
            if let Err(message) = form::count_value(self.cell(column)) {
                refuse(column, message);
            }
        }
        let findings = self.findings(&mut problems);
        let activity = form.parse(&self.lookup.choices, self.lookup.today);
        if let Err(errors) = &activity {
            for (field, message) in errors.iter() {
                let Some(column) = column_of_field(field) else {
                    continue;
                };
                let position = self.index.position(column);
                // A cell refused above keeps its first, more precise reason.
                if problems.iter().all(|problem| problem.column != position) {
                    problems.push(self.problem(column, import_message(message)));
                }
            }
        }
        match activity {
            Ok(activity) if problems.is_empty() => Ok((activity, findings)),
            _ => Err(problems),
        }
    }

    /// The kind's code, from its code or its name in either language.
    fn kind(&self) -> String {
        let written = self.cell(Column::Kind);
        KINDS
            .iter()
            .find(|kind| {
                let key = format!("activity-kind-{kind}");
                **kind == written.to_lowercase()
                    || [Lang::En, Lang::Km]
                        .iter()
                        .any(|lang| same_name(&lang.t(&key), written))
            })
            .map_or_else(|| written.to_owned(), |kind| (*kind).to_owned())
    }

    /// The district's code from its code or name. A name two districts share
    /// is taken as the one the user works in, if only one of them is.
    fn district(&self) -> Result<String, &'static str> {
        let written = self.cell(Column::District);
        if written.is_empty() {
            return Err("error-required");
        }
        let matches: Vec<&String> = self
            .lookup
            .districts
            .iter()
            .filter(|(code, en, km)| {
                *code == written || same_name(en, written) || same_name(km, written)
            })
            .map(|(code, _, _)| code)
            .collect();
        let yours: Vec<&&String> = matches
            .iter()
            .filter(|code| {
                self.lookup
                    .choices
                    .districts
                    .iter()
                    .any(|(own, _, _)| own == **code)
            })
            .collect();
        match (matches.as_slice(), yours.as_slice()) {
            ([], _) => Err("import-no-such-district"),
            ([only], _) => Ok((*only).clone()),
            (_, [only]) => Ok((**only).clone()),
            _ => Err("import-ambiguous-district"),
        }
    }

    /// The commune's code within `district`, from its code or name; empty when
    /// the row names none.
    fn commune(&self, district: &str) -> Result<String, &'static str> {
        let written = self.cell(Column::Commune);
        if written.is_empty() || district.is_empty() {
            return Ok(String::new());
        }
        self.lookup
            .choices
            .communes
            .iter()
            .find(|(code, parent, en, km)| {
                parent == district
                    && (*code == written || same_name(en, written) || same_name(km, written))
            })
            .map(|(code, _, _, _)| code.clone())
            .ok_or("import-unknown-commune")
    }

    /// The facilitating organization's id, from its id, acronym or name; the
    /// importer's own when the row names none.
    fn organization(&self) -> Result<String, &'static str> {
        let written = self.cell(Column::Organization);
        if written.is_empty() {
            return Ok(self.lookup.own_organization.to_string());
        }
        self.lookup
            .organizations
            .iter()
            .find(|(id, en, km, acronym)| {
                id.to_string() == written
                    || same_name(en, written)
                    || same_name(km, written)
                    || same_name(acronym, written)
            })
            .map(|(id, ..)| id.to_string())
            .ok_or("import-unknown-organization")
    }

    /// The row's findings, each checked as the finding form checks one.
    fn findings(&self, problems: &mut Vec<Problem>) -> Vec<CheckedFinding> {
        let mut findings = Vec::new();
        for n in 1..=FINDINGS_PER_ROW {
            let text = self.cell(Column::Finding(n));
            let themes = self.cell(Column::Theme(n));
            if text.is_empty() && themes.is_empty() {
                continue;
            }
            let mut form = FindingForm::default();
            if text.chars().any(is_khmer) {
                form.text_km = text.to_owned();
            } else {
                form.text_en = text.to_owned();
            }
            for name in themes
                .split([';', ','])
                .map(str::trim)
                .filter(|name| !name.is_empty())
            {
                match self.theme(name) {
                    Some(id) => form.themes.push(id.to_string()),
                    None => problems.push(self.problem(Column::Theme(n), "import-unknown-theme")),
                }
            }
            match form.parse(&self.lookup.themes) {
                Ok(valid) => {
                    let snapshot = valid.snapshot(&self.lookup.themes);
                    findings.push((valid, snapshot));
                }
                Err(errors) => {
                    for (field, message) in errors.iter() {
                        let column = match field {
                            "themes" => Column::Theme(n),
                            _ => Column::Finding(n),
                        };
                        let position = self.index.position(column);
                        if problems.iter().all(|problem| {
                            problem.line != Some(self.line) || problem.column != position
                        }) {
                            problems.push(self.problem(column, import_message(message)));
                        }
                    }
                }
            }
        }
        findings
    }

    fn theme(&self, written: &str) -> Option<i64> {
        self.lookup
            .themes
            .iter()
            .find(|(id, en, km)| {
                id.to_string() == written || same_name(en, written) || same_name(km, written)
            })
            .map(|(id, _, _)| *id)
    }
}

/// The cell's column for a field the activity form names.
fn column_of_field(field: &str) -> Option<Column> {
    Some(match field {
        "kind" => Column::Kind,
        "held_on" => Column::HeldOn,
        "district_code" => Column::District,
        "commune_code" => Column::Commune,
        "place" => Column::Place,
        "summary" => Column::Summary,
        "facilitating_organization_id" => Column::Organization,
        "youth" => Column::Youth,
        "persons_with_disabilities" => Column::PersonsWithDisabilities,
        _ => return None,
    })
}

/// Some of the form's messages say what to pick from its lists; in a file they
/// say what is wrong with the cell.
fn import_message(message: &'static str) -> &'static str {
    match message {
        "error-choose" => "import-not-a-choice",
        "activity-district-not-yours" => "import-district-not-covered",
        other => other,
    }
}

fn same_name(name: &str, written: &str) -> bool {
    !name.is_empty() && name.trim().to_lowercase() == written.to_lowercase()
}

fn is_khmer(c: char) -> bool {
    ('\u{1780}'..='\u{17FF}').contains(&c)
}

/// A date as the form takes it: year-month-day, from a date-time that starts
/// with one, or from day/month/year as Cambodia writes it. Anything else is
/// left as written, for the form to refuse.
fn iso_date(written: &str) -> String {
    let written = written.trim();
    if written.len() > 10 && written.as_bytes()[4] == b'-' && written.is_char_boundary(10) {
        return written[..10].to_owned();
    }
    let parts: Vec<&str> = written.split(['/', '.']).collect();
    if let [day, month, year] = parts.as_slice()
        && year.len() == 4
        && let (Ok(day), Ok(month), Ok(year)) =
            (day.parse::<u8>(), month.parse::<u8>(), year.parse::<u16>())
    {
        return format!("{year:04}-{month:02}-{day:02}");
    }
    written.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_day_first_or_from_a_date_time() {
        assert_eq!(iso_date("2026-11-20"), "2026-11-20");
        assert_eq!(iso_date("2026-11-20T08:30:00.000+07:00"), "2026-11-20");
        assert_eq!(iso_date("20/11/2026"), "2026-11-20");
        assert_eq!(iso_date("5.3.2026"), "2026-03-05");
        assert_eq!(iso_date("last week"), "last week");
        assert_eq!(iso_date("ថ្ងៃទី២០"), "ថ្ងៃទី២០");
    }

    #[test]
    fn submissions_lose_the_uuid_prefix() {
        assert_eq!(submission_id(" uuid:ab-12 "), Some("ab-12".into()));
        assert_eq!(submission_id("ab-12"), Some("ab-12".into()));
        assert_eq!(submission_id(""), None);
    }
}
