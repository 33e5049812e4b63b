//! The type of an uploaded file, read from its content, never from its name or
//! from what the browser claims.

use std::io::{Cursor, Read as _};

use calamine::{Reader as _, Xlsx};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Unpacked, a workbook may hold this much: a sheet of 2,000 rows is a few
/// megabytes, and a file that unpacks to far more than it weighs is a zip bomb.
const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;

/// The accepted types, as (MIME type, extension).
pub fn detect(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", "pdf"))
    } else if plain_workbook(bytes).is_ok() {
        // Tally sheets, kept as they were filled in.
        Some((XLSX, "xlsx"))
    } else {
        None
    }
}

/// An Excel workbook (XLSX) opened, or the key of the message that says why it
/// is refused: it is none, or it carries macros — programs that would run on
/// the computers of whoever opens it later. An unreadable macro project is
/// refused too.
pub fn plain_workbook(bytes: &[u8]) -> Result<Xlsx<Cursor<&[u8]>>, &'static str> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err("import-file-unreadable");
    }
    match unpacks_to_more_than(bytes, MAX_UNPACKED_BYTES) {
        None => return Err("import-file-unreadable"),
        Some(true) => return Err("import-unpacks-too-large"),
        Some(false) => {}
    }
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|_| "import-file-unreadable")?;
    match workbook.vba_project() {
        Ok(None) => Ok(workbook),
        _ => Err("import-macros"),
    }
}

/// Whether a ZIP archive's files add up to more than `limit` bytes once
/// unpacked (`None`: it is no archive). They are unpacked to count them, up to
/// the limit: a table of contents can lie about their sizes.
fn unpacks_to_more_than(bytes: &[u8], limit: u64) -> Option<bool> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut left = limit;
    for index in 0..archive.len() {
        let file = archive.by_index(index).ok()?;
        let unpacked = std::io::copy(&mut file.take(left + 1), &mut std::io::sink()).ok()?;
        if unpacked > left {
            return Some(true);
        }
        left -= unpacked;
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn types_come_from_the_content() {
        assert_eq!(detect(b"\xFF\xD8\xFF\xE0rest"), Some(("image/jpeg", "jpg")));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\nrest"), Some(("image/png", "png")));
        assert_eq!(
            detect(b"RIFF\x10\x00\x00\x00WEBPVP8 "),
            Some(("image/webp", "webp"))
        );
        assert_eq!(detect(b"%PDF-1.7"), Some(("application/pdf", "pdf")));
        assert_eq!(detect(b"<?php echo 'hi'; ?>"), None);
        assert_eq!(detect(b""), None);
    }
}
