//! Reading an uploaded file into a table of text: an XLSX workbook's first sheet
//! through calamine, or CSV (UTF-8, comma, semicolon or tab) through `csv`.
//! What cannot be read comes back as the key of the message that says why.
//!
//! Memory stays bounded whatever the file declares: a sheet is read cell by
//! cell (never as the range its dimension claims, which calamine would
//! allocate whole), only cells with content are kept, and reading stops past
//! `MAX_ROWS` rows or `MAX_COLUMNS` columns. Callers read off the async
//! threads (`read_apart`).

use std::collections::BTreeMap;

use calamine::{Data, Reader as _};

use crate::attachments::plain_workbook;

/// More rows than this are refused: a district's year of field work is a few
/// hundred, and the preview must stay a page.
pub const MAX_ROWS: usize = 2_000;

/// A cell with content beyond this column is refused: the template has 40
/// columns, and a KoboToolbox export of its form some 20 more.
pub const MAX_COLUMNS: usize = 200;

/// A file's first table: its headings and its non-empty rows, each with the
/// line number a spreadsheet shows for it.
#[derive(Debug, Default)]
pub struct Table {
    pub headings: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    /// Where the headings start: the letter of heading `i` is `first_column + i`.
    pub first_column: usize,
}

/// `read` on a thread of its own, so that a large file keeps no request of
/// anyone else's waiting.
pub async fn read_apart(bytes: Vec<u8>) -> Result<Table, &'static str> {
    tokio::task::spawn_blocking(move || read(&bytes))
        .await
        .unwrap_or(Err("import-file-unreadable"))
}

/// The file as a table, or the message key of why it cannot be read.
pub fn read(bytes: &[u8]) -> Result<Table, &'static str> {
    let lines = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)?
    } else if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        // The binary Excel format of before 2007, where macros hide too.
        return Err("import-old-excel");
    } else {
        read_csv(bytes)?
    };
    table(lines)
}

/// The cells with content of each line with any, by line and column (both
/// counted from 0), with the limits checked as they come.
#[derive(Default)]
struct Lines(BTreeMap<usize, Vec<(usize, String)>>);

impl Lines {
    fn add(&mut self, line: usize, column: usize, text: String) -> Result<(), &'static str> {
        if text.trim().is_empty() {
            return Ok(());
        }
        if column >= MAX_COLUMNS {
            return Err("import-too-many-columns");
        }
        self.0.entry(line).or_default().push((column, text));
        // The headings' line, and one more than the rows allowed, say enough.
        if self.0.len() > MAX_ROWS + 2 {
            return Err("import-too-many-rows");
        }
        Ok(())
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Lines, &'static str> {
    let mut workbook = plain_workbook(bytes)?;
    let first = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or("import-empty")?;
    let mut cells = workbook
        .worksheet_cells_reader(&first)
        .map_err(|_| "import-file-unreadable")?;
    let mut lines = Lines::default();
    while let Some(cell) = cells.next_cell().map_err(|_| "import-file-unreadable")? {
        let (line, column) = cell.get_position();
        let text = cell_text(&Data::from(cell.get_value().clone()));
        lines.add(line as usize, column as usize, text)?;
    }
    Ok(lines)
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

fn read_csv(bytes: &[u8]) -> Result<Lines, &'static str> {
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
    let mut lines = Lines::default();
    let mut record = csv::StringRecord::new();
    // The csv reader's own line numbers drift after blank lines and CRLF
    // endings: each record's line is counted here, from where its text starts.
    let (mut counted_to, mut line) = (0, 0);
    while reader
        .read_record(&mut record)
        .map_err(|_| "import-file-unreadable")?
    {
        let from = record.position().map_or(0, |at| at.byte() as usize);
        let start = text[from..]
            .find(|c: char| c != '\r' && c != '\n')
            .map_or(text.len(), |skipped| from + skipped)
            .max(counted_to);
        line += text[counted_to..start].matches('\n').count();
        counted_to = start;
        for (column, cell) in record.iter().enumerate() {
            lines.add(line, column, cell.to_owned())?;
        }
    }
    Ok(lines)
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

/// The first line with content is the headings, starting at the leftmost
/// column with content; each later line with content is a row.
fn table(lines: Lines) -> Result<Table, &'static str> {
    let first_column = lines
        .0
        .values()
        .flatten()
        .map(|(column, _)| *column)
        .min()
        .ok_or("import-empty")?;
    let mut lines = lines.0.into_iter().map(|(line, cells)| {
        let width = cells
            .iter()
            .map(|(column, _)| column + 1)
            .max()
            .unwrap_or(0);
        let mut row = vec![String::new(); width - first_column];
        for (column, text) in cells {
            row[column - first_column] = text;
        }
        (line, row)
    });
    let (_, headings) = lines.next().ok_or("import-empty")?;
    let rows: Vec<(usize, Vec<String>)> = lines.map(|(line, cells)| (line + 1, cells)).collect();
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
    fn lines_ending_in_crlf_are_numbered_as_a_spreadsheet_shows_them() {
        let file = "kind,district\r\nfgd,Bavel\r\n\r\nfgd,\"two\r\nlines\"\r\nfgd,0204\r\n";
        let table = read(file.as_bytes()).expect("table");
        let lines: Vec<usize> = table.rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 4, 6]);
    }

    #[test]
    fn wide_or_long_files_are_refused_without_reading_them_whole() {
        let wide = format!("kind{}x\nfgd\n", ",".repeat(MAX_COLUMNS));
        assert_eq!(read(wide.as_bytes()).err(), Some("import-too-many-columns"));
        // Empty cells past the limit are no content.
        let trailing = format!("kind{}\nfgd\n", ",".repeat(MAX_COLUMNS));
        assert!(read(trailing.as_bytes()).is_ok());
        let long = format!("kind\n{}", "fgd\n".repeat(MAX_ROWS + 1));
        assert_eq!(read(long.as_bytes()).err(), Some("import-too-many-rows"));
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
