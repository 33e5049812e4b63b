//! Reading an uploaded file into a table of text: an XLSX workbook's first sheet
//! through calamine, or CSV (UTF-8, comma, semicolon or tab) through `csv`.
//! What cannot be read comes back as the key of the message that says why.

use calamine::{Data, Reader as _};

use crate::attachments::plain_workbook;

/// More rows than this are refused: a district's year of field work is a few
/// hundred, and the preview must stay a page.
pub const MAX_ROWS: usize = 2_000;

/// A file's first table: its headings and its non-empty rows, each with the
/// line number a spreadsheet shows for it.
#[derive(Debug, Default)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    /// Where the headings start: the letter of heading `i` is `first_column + i`.
    pub first_column: usize,
}

/// The file as a table, or the message key of why it cannot be read.
pub fn read(bytes: &[u8]) -> Result<Table, &'static str> {
    let rows = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)?
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        // The binary Excel format of before 2007, where macros hide too.
        return Err("import-old-excel");
    } else {
        read_csv(bytes)?
    };
    table(rows)
}

/// Cells by (line, column), both counted from 0.
type Grid = Vec<(usize, usize, Vec<String>)>;

fn read_xlsx(bytes: &[u8]) -> Result<Grid, &'static str> {
    let mut workbook = plain_workbook(bytes)?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or("import-empty")?
        .map_err(|_| "import-file-unreadable")?;
    let Some((first_line, first_column)) = range.start() else {
        return Err("import-empty");
    };
    Ok(range
        .rows()
        .enumerate()
        .map(|(index, cells)| {
            let cells = cells.iter().map(cell_text).collect();
            (first_line as usize + index, first_column as usize, cells)
        })
        .collect())
}

/// A cell as the text a person would type: whole numbers without ".0", dates
/// as year-month-day.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Int(number) => number.to_string(),
        Data::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            format!("{number:.0}")
        }
        Data::Float(number) => number.to_string(),
        Data::Bool(value) => value.to_string(),
        Data::DateTime(date) => {
            let (year, month, day, ..) = date.to_ymd_hms_milli();
            format!("{year:04}-{month:02}-{day:02}")
        }
        Data::Error(error) => error.to_string(),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Grid, &'static str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| "import-file-not-utf8")?;
    if text.contains('\0') {
        return Err("import-file-unreadable");
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(text))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| "import-file-unreadable")?;
        let line = record
            .position()
            .map_or(rows.len(), |at| at.line() as usize - 1);
        rows.push((line, 0, record.iter().map(str::to_owned).collect()));
    }
    Ok(rows)
}

/// The separator of a CSV file, from its first line: KoboToolbox writes `;`,
/// ODK Central and most spreadsheets `,`, some `\t`.
fn delimiter(text: &str) -> u8 {
    let first_line = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|separator| first_line.bytes().filter(|byte| byte == separator).count())
        .unwrap_or(b',')
}

/// The first non-empty row is the headings; empty rows after it are skipped.
fn table(grid: Grid) -> Result<Table, &'static str> {
    let is_blank = |cells: &[String]| cells.iter().all(|cell| cell.trim().is_empty());
    let mut rows = grid.into_iter().filter(|(_, _, cells)| !is_blank(cells));
    let (_, first_column, headings) = rows.next().ok_or("import-empty")?;
    let rows: Vec<(usize, Vec<String>)> = rows.map(|(line, _, cells)| (line + 1, cells)).collect();
    if rows.is_empty() {
        return Err("import-no-rows");
    }
    if rows.len() > MAX_ROWS {
        return Err("import-too-many-rows");
    }
    Ok(Table {
        headings,
        rows,
        first_column,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_semicolons_a_byte_order_mark_and_khmer_is_read_as_typed() {
        let file = "\u{FEFF}kind;district;summary\nfgd;Bavel;\"ស្រុក; បវេល\"\n\n;;\nfgd;0204;\n";
        let table = read(file.as_bytes()).expect("table");
        assert_eq!(table.headings, ["kind", "district", "summary"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(
            table.rows[0],
            (2, vec!["fgd".into(), "Bavel".into(), "ស្រុក; បវេល".into()])
        );
        assert_eq!(table.rows[1].0, 5);
    }

    #[test]
    fn files_that_cannot_be_read_say_why() {
        assert_eq!(
            read(b"\xD0\xCF\x11\xE0rest").err(),
            Some("import-old-excel")
        );
        assert_eq!(
            read(b"kind,district\n\xff\xfe\n").err(),
            Some("import-file-not-utf8")
        );
        assert_eq!(
            read(b"PK\x03\x04 not a workbook").err(),
            Some("import-file-unreadable")
        );
        assert_eq!(read(b"kind,district\n").err(), Some("import-no-rows"));
        assert_eq!(read(b"").err(), Some("import-empty"));
    }

    #[test]
    fn numbers_and_dates_read_as_typed() {
        assert_eq!(cell_text(&Data::Float(12.0)), "12");
        assert_eq!(cell_text(&Data::Float(12.5)), "12.5");
        let date =
            calamine::ExcelDateTime::new(46346.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell_text(&Data::DateTime(date)), "2026-11-20");
    }
}
