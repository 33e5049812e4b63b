//! The spreadsheet template: one row per activity under headings in English
//! and Khmer, with a second sheet of the values its cells accept — the kinds,
//! and the districts, communes, organizations and themes of this user.

use rust_xlsxwriter::{DataValidation, DataValidationRule, Format, Formula, Workbook, Worksheet};

use super::columns::Column;
use super::lookup::Lookup;
use crate::activities::form::{KINDS, MAX_COUNT};
use crate::i18n::Lang;

/// How many rows the template's checks (lists, whole numbers) cover.
const ROWS: u32 = 1_000;
const VALUES_SHEET: &str = "Valid values";

/// The template as an XLSX file.
pub fn workbook(lookup: &Lookup) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let heading = Format::new().set_bold().set_text_wrap();
    let activities = workbook.add_worksheet();
    activities.set_name("Activities")?;
    for (position, column) in Column::template().into_iter().enumerate() {
        let position = position as u16;
        activities.write_string_with_format(0, position, column.heading(), &heading)?;
        activities.set_column_width(position, width(column))?;
        check_cells(activities, position, column)?;
    }
    activities.set_row_height(0, 45)?;
    activities.set_freeze_panes(1, 0)?;
    let values = workbook.add_worksheet();
    values.set_name(VALUES_SHEET)?;
    write_values(values, lookup, &heading)?;
    workbook.save_to_buffer()
}

fn width(column: Column) -> f64 {
    match column {
        Column::Finding(_) | Column::Summary => 40.0,
        Column::Count { .. } | Column::Youth | Column::PersonsWithDisabilities => 12.0,
        _ => 18.0,
    }
}

/// Spreadsheet checks that catch a mistake as it is typed; the import checks
/// everything again, for files that lost them (CSV) or never had them.
fn check_cells(
    sheet: &mut Worksheet,
    position: u16,
    column: Column,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let validation = match column {
        Column::Kind => DataValidation::new().allow_list_formula(Formula::new(format!(
            "='{VALUES_SHEET}'!$A$2:$A${}",
            KINDS.len() + 1
        ))),
        Column::HeldOn => {
            sheet.set_column_format(position, &Format::new().set_num_format("yyyy-mm-dd"))?;
            return Ok(());
        }
        Column::Count { .. } | Column::Youth | Column::PersonsWithDisabilities => {
            DataValidation::new().allow_whole_number(DataValidationRule::Between(0, MAX_COUNT))
        }
        _ => return Ok(()),
    };
    sheet.add_data_validation(1, position, ROWS, position, &validation)?;
    Ok(())
}

/// The second sheet: one block of columns per list, side by side.
fn write_values(
    sheet: &mut Worksheet,
    lookup: &Lookup,
    heading: &Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let both = |key: &str| format!("{} / {}", Lang::En.t(key), Lang::Km.t(key));
    let kinds: Vec<Vec<String>> = KINDS
        .iter()
        .map(|kind| {
            let key = format!("activity-kind-{kind}");
            vec![kind.to_string(), Lang::En.t(&key), Lang::Km.t(&key)]
        })
        .collect();
    let districts: Vec<Vec<String>> = lookup
        .choices
        .districts
        .iter()
        .map(|(code, en, km)| vec![code.clone(), en.clone(), km.clone()])
        .collect();
    let communes: Vec<Vec<String>> = lookup
        .choices
        .communes
        .iter()
        .map(|(code, district, en, km)| {
            vec![code.clone(), district.clone(), en.clone(), km.clone()]
        })
        .collect();
    let organizations: Vec<Vec<String>> = lookup
        .organizations
        .iter()
        .map(|(_, en, km, acronym)| vec![acronym.clone(), en.clone(), km.clone()])
        .collect();
    let themes: Vec<Vec<String>> = lookup
        .themes
        .iter()
        .map(|(_, en, km)| vec![en.clone(), km.clone()])
        .collect();
    let english = both("import-values-english");
    let khmer = both("import-values-khmer");
    let blocks = [
        (
            vec![both("import-column-kind"), english.clone(), khmer.clone()],
            kinds,
        ),
        (
            vec![
                both("import-column-district"),
                english.clone(),
                khmer.clone(),
            ],
            districts,
        ),
        (
            vec![
                both("import-column-commune"),
                both("import-column-district"),
                english.clone(),
                khmer.clone(),
            ],
            communes,
        ),
        (
            vec![both("import-column-organization"), english, khmer.clone()],
            organizations,
        ),
        (vec![both("import-column-theme"), khmer], themes),
    ];
    let mut left = 0u16;
    for (headings, rows) in blocks {
        for (offset, text) in headings.iter().enumerate() {
            let column = left + offset as u16;
            sheet.write_string_with_format(0, column, text, heading)?;
            sheet.set_column_width(column, 20)?;
        }
        for (row, cells) in rows.iter().enumerate() {
            for (offset, text) in cells.iter().enumerate() {
                sheet.write_string(row as u32 + 1, left + offset as u16, text)?;
            }
        }
        left += headings.len() as u16 + 1;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}
