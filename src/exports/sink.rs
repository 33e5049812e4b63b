//! Where an export's rows are written: a CSV streamed in chunks or an XLSX
//! workbook, one cell at a time, with formulas defused.

use axum::body::Bytes;
use tokio::sync::mpsc;

/// A piece of a CSV file on its way, or why the file stopped: a download
/// that stops must end in an error, not look whole.
pub(super) type Chunk = std::io::Result<Bytes>;

/// One value of a table: numbers stay numbers in a spreadsheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(i64),
    Empty,
}

/// Where an export's rows go as the database returns them, so that no file,
/// however large, is held whole in memory: CSV is sent on in chunks while it is
/// read; XLSX rows go to the spreadsheet writer's temporary file.
pub enum Sink {
    Csv {
        writer: Box<csv::Writer<Vec<u8>>>,
        chunks: mpsc::Sender<Chunk>,
    },
    Xlsx {
        workbook: Box<rust_xlsxwriter::Workbook>,
        next_row: u32,
    },
}

/// CSV is sent on once this much has gathered.
const CHUNK: usize = 64 * 1024;
pub(crate) const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

impl Sink {
    pub(super) fn csv(columns: &[&str], chunks: mpsc::Sender<Chunk>) -> anyhow::Result<Sink> {
        let mut writer = Box::new(csv::Writer::from_writer(BYTE_ORDER_MARK.to_vec()));
        writer.write_record(columns)?;
        Ok(Sink::Csv { writer, chunks })
    }

    pub(super) fn xlsx(columns: &[&str], dataset: &str) -> anyhow::Result<Sink> {
        let mut workbook = Box::new(rust_xlsxwriter::Workbook::new());
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(dataset)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (column, name) in columns.iter().enumerate() {
            sheet.write_string_with_format(0, column as u16, *name, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(Sink::Xlsx {
            workbook,
            next_row: 1,
        })
    }

    pub async fn push(&mut self, cells: Vec<Cell>) -> anyhow::Result<()> {
        match self {
            Sink::Csv { writer, chunks } => {
                writer.write_record(cells.iter().map(|cell| match cell {
                    Cell::Text(text) => defuse_formula(text),
                    Cell::Number(number) => number.to_string(),
                    Cell::Empty => String::new(),
                }))?;
                if writer.get_ref().len() >= CHUNK {
                    let full =
                        std::mem::replace(&mut **writer, csv::Writer::from_writer(Vec::new()));
                    let chunk = full
                        .into_inner()
                        .map_err(|error| anyhow::anyhow!("{error}"))?;
                    chunks.send(Ok(Bytes::from(chunk))).await?;
                }
            }
            Sink::Xlsx { workbook, next_row } => {
                let sheet = workbook.worksheet_from_index(0)?;
                for (column, cell) in cells.iter().enumerate() {
                    let column = column as u16;
                    match cell {
                        Cell::Text(text) => {
                            sheet.write_string(*next_row, column, text)?;
                        }
                        // Riel budgets and counts are far below 2^53: f64 holds them exactly.
                        Cell::Number(number) => {
                            sheet.write_number(*next_row, column, *number as f64)?;
                        }
                        Cell::Empty => {}
                    }
                }
                *next_row += 1;
            }
        }
        Ok(())
    }

    /// Sends what is left of a CSV file.
    pub(super) async fn finish_csv(self) -> anyhow::Result<()> {
        let Sink::Csv { writer, chunks } = self else {
            return Ok(());
        };
        let rest = writer
            .into_inner()
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        chunks.send(Ok(Bytes::from(rest))).await?;
        Ok(())
    }
}

/// Text that a spreadsheet would run as a formula (`=HYPERLINK(…)` in a finding)
/// gets a leading apostrophe, which spreadsheets read as "this is text". Numbers
/// are written as `Cell::Number` and never pass here.
pub(crate) fn defuse_formula(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}
