//! Hostile input refused before anything reads or stores it (docs/design.md, "Security"): a
//! path or query with a NUL byte or broken UTF-8, and request bodies over their
//! route's limit, which are not buffered past it.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use futures_util::StreamExt as _;

use crate::error::AppError;

/// A form that is not an upload never needs more than this.
pub const FORM_BYTES: usize = 64 * 1024;
/// The administrator's gazetteer import: the whole country's CSV and boundary
/// files are about 1 MB.
pub const GAZETTEER_BYTES: usize = 32 * 1024 * 1024;
/// Room for a multipart form's other fields and boundaries beside its file.
const MULTIPART_SLACK: usize = 64 * 1024;

/// How much of a POST body each route may read.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    /// Routes that take a file (as `MatchedPath` spells them), for signed-in
    /// users who may write.
    pub uploads: &'static [&'static str],
    pub upload_bytes: usize,
}

impl BodyLimits {
    /// The limit of a route for a user who may (`writer`) or may not write.
    pub fn of(&self, route: Option<&str>, writer: bool) -> usize {
        match route {
            Some("/admin/gazetteer/import") if writer => GAZETTEER_BYTES,
            Some(route) if writer && self.uploads.contains(&route) => {
                self.upload_bytes + MULTIPART_SLACK
            }
            _ => FORM_BYTES,
        }
    }
}

/// Middleware: a 400 for a path or query that holds a NUL byte or broken
/// UTF-8 once percent-decoded. PostgreSQL refuses NUL in text, and replacing
/// broken UTF-8 would store damage.
pub async fn refuse_malformed_uri(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let clean = |text: &str| is_clean(percent_encoding::percent_decode_str(text).collect());
    if !clean(uri.path()) || !uri.query().is_none_or(clean) {
        return AppError::BadRequest.into_response();
    }
    next.run(request).await
}

/// UTF-8 without NUL.
pub fn is_clean(bytes: Vec<u8>) -> bool {
    !bytes.contains(&0) && String::from_utf8(bytes).is_ok()
}

/// A body that was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the route allows: 413.
    TooLarge,
    /// The connection broke off.
    Broken,
}

/// Reads a body up to `limit` bytes, refusing a longer one as soon as it says
/// so (`Content-Length`) or grows past it.
pub async fn read_body(
    declared_length: Option<u64>,
    body: Body,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if declared_length.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if bytes.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_broken_utf8_are_not_clean() {
        assert!(is_clean("Bavel ស្រុក".into()));
        assert!(!is_clean(b"a\0b".to_vec()));
        assert!(!is_clean(vec![0xff, 0xfe]));
    }

    #[test]
    fn only_writers_get_the_upload_limit() {
        let limits = BodyLimits {
            uploads: &["/activities/{id}/attachments"],
            upload_bytes: 1_000_000,
        };
        let upload = Some("/activities/{id}/attachments");
        assert_eq!(limits.of(upload, true), 1_000_000 + MULTIPART_SLACK);
        assert_eq!(limits.of(upload, false), FORM_BYTES);
        assert_eq!(limits.of(Some("/login"), true), FORM_BYTES);
        assert_eq!(limits.of(None, true), FORM_BYTES);
    }
}
