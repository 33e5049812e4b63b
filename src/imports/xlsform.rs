//! The XLSForm field staff load into KoboToolbox or ODK Collect to record an
//! FGD or an interview offline. Its questions carry the names of the import
//! template's columns, so its exports come back through the same preview. The
//! repository ships it as `forms/samleng-fgd.xlsx` (`samleng xlsform FILE`
//! writes it again; a test keeps the two the same).

use rust_xlsxwriter::{Workbook, Worksheet, XlsxError};

use super::columns::{Column, FINDINGS_PER_ROW};
use crate::activities::form::{GROUPS, MAX_COUNT, SEXES};
use crate::i18n::Lang;

const LANGUAGES: [(Lang, &str); 2] = [(Lang::En, "English (en)"), (Lang::Km, "Khmer (km)")];
/// Kinds recorded in the field with citizens; meetings are entered online.
const KINDS: [&str; 2] = ["fgd", "interview"];

/// One line of the survey sheet.
struct Question {
    kind: String,
    name: String,
    /// Message key of the label, or the column whose label it is.
    label: Label,
    hint: Option<&'static str>,
    required: bool,
    constraint: String,
    appearance: &'static str,
}

enum Label {
    Key(&'static str),
    Of(Column),
    None,
}

impl Label {
    fn text(&self, lang: Lang) -> String {
        match self {
            Label::Key(key) => lang.t(key),
            Label::Of(column) => column.label(lang),
            Label::None => String::new(),
        }
    }
}

fn question(kind: &str, column: Column) -> Question {
    Question {
        kind: kind.to_owned(),
        name: column.name(),
        label: Label::Of(column),
        hint: None,
        required: false,
        constraint: String::new(),
        appearance: "",
    }
}

fn group(name: &str, label: &'static str) -> Question {
    Question {
        kind: "begin_group".into(),
        name: name.into(),
        label: Label::Key(label),
        ..question("", Column::Kind)
    }
}

fn end_group() -> Question {
    Question {
        kind: "end_group".into(),
        name: String::new(),
        label: Label::None,
        ..question("", Column::Kind)
    }
}

fn survey() -> Vec<Question> {
    let count = |column| Question {
        constraint: format!(". >= 0 and . <= {MAX_COUNT}"),
        ..question("integer", column)
    };
    // Youth and persons with disabilities are among the participants counted.
    let total = GROUPS
        .iter()
        .flat_map(|group| {
            SEXES
                .iter()
                .map(move |sex| format!("coalesce(${{{group}_{sex}}}, 0)"))
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let subgroup = |column| Question {
        constraint: format!(". >= 0 and . <= {total}"),
        ..question("integer", column)
    };
    let mut survey = vec![
        Question {
            required: true,
            ..question("select_one kind", Column::Kind)
        },
        Question {
            required: true,
            ..question("date", Column::HeldOn)
        },
        group("location", "import-group-location"),
        Question {
            required: true,
            hint: Some("import-hint-district"),
            ..question("text", Column::District)
        },
        Question {
            hint: Some("import-hint-commune"),
            ..question("text", Column::Commune)
        },
        Question {
            hint: Some("import-hint-no-names"),
            ..question("text", Column::Place)
        },
        Question {
            hint: Some("import-hint-organization"),
            ..question("text", Column::Organization)
        },
        end_group(),
        group("participants", "import-group-participants"),
    ];
    for column in Column::template() {
        if let Column::Count { .. } = column {
            survey.push(count(column));
        }
    }
    survey.push(subgroup(Column::Youth));
    survey.push(subgroup(Column::PersonsWithDisabilities));
    survey.push(end_group());
    survey.push(group("findings", "import-group-findings"));
    for n in 1..=FINDINGS_PER_ROW {
        survey.push(Question {
            hint: Some("import-hint-no-names"),
            appearance: "multiline",
            ..question("text", Column::Finding(n))
        });
        survey.push(Question {
            hint: Some("import-hint-theme"),
            ..question("text", Column::Theme(n))
        });
    }
    survey.push(end_group());
    survey.push(Question {
        hint: Some("import-hint-no-names"),
        appearance: "multiline",
        ..question("text", Column::Summary)
    });
    survey
}

/// The XLSForm as an XLSX file.
pub fn workbook() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    write_survey(workbook.add_worksheet())?;
    write_choices(workbook.add_worksheet())?;
    let settings = workbook.add_worksheet();
    settings.set_name("settings")?;
    let rows = [
        ["form_title", "form_id", "version", "default_language"],
        [
            "Samleng FGD / interview",
            "samleng_fgd",
            "2026112701",
            "English (en)",
        ],
    ];
    write_rows(settings, &rows.map(|row| row.map(str::to_owned).to_vec()))?;
    workbook.save_to_buffer()
}

fn write_survey(sheet: &mut Worksheet) -> Result<(), XlsxError> {
    sheet.set_name("survey")?;
    let mut headings = vec!["type".to_owned(), "name".to_owned()];
    for prefix in ["label", "hint"] {
        headings.extend(LANGUAGES.map(|(_, name)| format!("{prefix}::{name}")));
    }
    headings.extend(["required", "constraint", "appearance"].map(str::to_owned));
    let mut rows = vec![headings];
    for question in survey() {
        let mut row = vec![question.kind, question.name];
        row.extend(LANGUAGES.map(|(lang, _)| question.label.text(lang)));
        row.extend(
            LANGUAGES.map(|(lang, _)| question.hint.map(|key| lang.t(key)).unwrap_or_default()),
        );
        row.push(if question.required { "yes" } else { "" }.to_owned());
        row.push(question.constraint);
        row.push(question.appearance.to_owned());
        rows.push(row);
    }
    write_rows(sheet, &rows)
}

fn write_choices(sheet: &mut Worksheet) -> Result<(), XlsxError> {
    sheet.set_name("choices")?;
    let mut headings = vec!["list_name".to_owned(), "name".to_owned()];
    headings.extend(LANGUAGES.map(|(_, name)| format!("label::{name}")));
    let mut rows = vec![headings];
    for kind in KINDS {
        let key = format!("activity-kind-{kind}");
        let mut row = vec!["kind".to_owned(), kind.to_owned()];
        row.extend(LANGUAGES.map(|(lang, _)| lang.t(&key)));
        rows.push(row);
    }
    write_rows(sheet, &rows)
}

fn write_rows(sheet: &mut Worksheet, rows: &[Vec<String>]) -> Result<(), XlsxError> {
    for (line, cells) in rows.iter().enumerate() {
        for (position, text) in cells.iter().enumerate() {
            if !text.is_empty() {
                sheet.write_string(line as u32, position as u16, text)?;
            }
        }
    }
    Ok(())
}
